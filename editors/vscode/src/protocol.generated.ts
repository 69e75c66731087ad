/**
 * Generated from docs/protocol.schema.json by scripts/gen-protocol.mjs: do not edit.
 * Regenerate with `python scripts/gen_protocol.py` after changing claw_lsp/server/protocol.py.
 */

/**
 * Every claw/* request, notification and claw.* command payload (docs/protocol.md).
 */
export interface ClawProtocol {
  ClientFeatures?: ClientFeatures;
  AskParams?: AskParams;
  AskResult?: AskResult;
  CancelParams?: CancelParams;
  CancelResult?: CancelResult;
  SessionsListResult?: SessionsListResult;
  SessionParams?: SessionParams;
  SessionIdResult?: SessionIdResult;
  ReviewCommandParams?: ReviewCommandParams;
  OkResult?: OkResult;
  StatusResult?: StatusResult;
  CommandsListResult?: CommandsListResult;
  TrustParams?: TrustParams;
  TrustResult?: TrustResult;
  InputParams?: InputParams;
  InputResult?: InputResult;
  PermissionParams?: PermissionParams;
  PermissionResult?: PermissionResult;
  ReviewParams?: ReviewParams;
  ReviewResult?: ReviewResult;
  UrisParams?: UrisParams;
  DiagnosticsResult?: DiagnosticsResult;
  SaveResult?: SaveResult;
  EventParams?: EventParams;
}
/**
 * `initializationOptions.clientFeatures`: the custom methods the client handles.
 *
 * This interface was referenced by `ClawProtocol`'s JSON-Schema
 * via the `definition` "ClientFeatures".
 */
export interface ClientFeatures {
  event?: boolean;
  input?: boolean;
  permission?: boolean;
  review?: boolean;
  diagnostics?: boolean;
  saveDocuments?: boolean;
}
/**
 * `claw.ask` arguments.
 *
 * This interface was referenced by `ClawProtocol`'s JSON-Schema
 * via the `definition` "AskParams".
 */
export interface AskParams {
  uri?: string | null;
  range?: LspRange | null;
  prompt?: string | null;
  sessionId?: string | null;
  action?: ('fix' | 'instruction' | 'ask' | 'explain' | 'document' | 'tests') | null;
  diagnostic?: {
    [k: string]: unknown;
  } | null;
  instruction?: InstructionRef | null;
}
/**
 * An LSP range.
 *
 * This interface was referenced by `ClawProtocol`'s JSON-Schema
 * via the `definition` "LspRange".
 */
export interface LspRange {
  start: LspPosition;
  end: LspPosition;
}
/**
 * An LSP position (in the negotiated encoding).
 *
 * This interface was referenced by `ClawProtocol`'s JSON-Schema
 * via the `definition` "LspPosition".
 */
export interface LspPosition {
  line: number;
  character: number;
}
/**
 * The instruction comment a `Claw: <instruction>` action came from (removed after the run).
 *
 * This interface was referenced by `ClawProtocol`'s JSON-Schema
 * via the `definition` "InstructionRef".
 */
export interface InstructionRef {
  line: number;
  comment: string;
}
/**
 * `claw.ask` result: answered at once, the run goes on (`dismissed`: the user closed the input).
 *
 * This interface was referenced by `ClawProtocol`'s JSON-Schema
 * via the `definition` "AskResult".
 */
export interface AskResult {
  runId: string | null;
  sessionId: string | null;
  dismissed?: boolean;
}
/**
 * `claw.cancel` arguments (no runId: every run).
 *
 * This interface was referenced by `ClawProtocol`'s JSON-Schema
 * via the `definition` "CancelParams".
 */
export interface CancelParams {
  runId?: string | null;
}
/**
 * `claw.cancel` result: the runs that were asked to stop.
 *
 * This interface was referenced by `ClawProtocol`'s JSON-Schema
 * via the `definition` "CancelResult".
 */
export interface CancelResult {
  cancelled?: string[];
}
/**
 * `claw.sessions.list` result, newest first.
 *
 * This interface was referenced by `ClawProtocol`'s JSON-Schema
 * via the `definition` "SessionsListResult".
 */
export interface SessionsListResult {
  sessions?: SessionEntry[];
}
/**
 * One stored session in `claw.sessions.list`.
 *
 * This interface was referenced by `ClawProtocol`'s JSON-Schema
 * via the `definition` "SessionEntry".
 */
export interface SessionEntry {
  sessionId: string;
  title: string;
  updatedAt: string;
  messages: number;
  active: boolean;
  running: boolean;
}
/**
 * `claw.sessions.resume` arguments.
 *
 * This interface was referenced by `ClawProtocol`'s JSON-Schema
 * via the `definition` "SessionParams".
 */
export interface SessionParams {
  sessionId: string;
}
/**
 * `claw.sessions.resume` / `claw.sessions.new` result: the session that is now active.
 *
 * This interface was referenced by `ClawProtocol`'s JSON-Schema
 * via the `definition` "SessionIdResult".
 */
export interface SessionIdResult {
  sessionId: string;
}
/**
 * `claw.review.accept` / `claw.review.reject` arguments.
 *
 * This interface was referenced by `ClawProtocol`'s JSON-Schema
 * via the `definition` "ReviewCommandParams".
 */
export interface ReviewCommandParams {
  changeId: string;
  hunk?: number | null;
  feedback?: string | null;
}
/**
 * `claw.review.accept` / `claw.review.reject` result: whether an open review took the answer.
 *
 * This interface was referenced by `ClawProtocol`'s JSON-Schema
 * via the `definition` "OkResult".
 */
export interface OkResult {
  ok: boolean;
}
/**
 * `claw.status` result (`usage`/`costUsd`: the active session's; `total*`: since start;
 * `trusted` / `heldBack`: the workspace's trust decision and the settings it holds back).
 *
 * This interface was referenced by `ClawProtocol`'s JSON-Schema
 * via the `definition` "StatusResult".
 */
export interface StatusResult {
  model: string;
  provider: string;
  permissionMode: string;
  sessionId?: string | null;
  runs?: RunInfo[];
  usage: Usage;
  costUsd: number;
  totalUsage: Usage;
  totalCostUsd: number;
  workspace: string;
  trusted?: boolean | null;
  heldBack?: string[];
}
/**
 * One run in `claw.status`.
 *
 * This interface was referenced by `ClawProtocol`'s JSON-Schema
 * via the `definition` "RunInfo".
 */
export interface RunInfo {
  runId: string;
  sessionId: string;
  prompt: string;
  step?: string | null;
  running: boolean;
  stopReason?: string | null;
}
/**
 * Token usage of one request or a running total.
 *
 * This interface was referenced by `ClawProtocol`'s JSON-Schema
 * via the `definition` "Usage".
 */
export interface Usage {
  input_tokens?: number;
  output_tokens?: number;
  cache_creation_input_tokens?: number;
  cache_read_input_tokens?: number;
}
/**
 * `claw.commands.list` result: the built-ins, then the user's and the workspace's commands
 * and skills.
 *
 * This interface was referenced by `ClawProtocol`'s JSON-Schema
 * via the `definition` "CommandsListResult".
 */
export interface CommandsListResult {
  commands?: SlashCommandInfo[];
}
/**
 * One slash command the user can type as `/name args` in a prompt (`claw.commands.list`).
 *
 * This interface was referenced by `ClawProtocol`'s JSON-Schema
 * via the `definition` "SlashCommandInfo".
 */
export interface SlashCommandInfo {
  name: string;
  description: string;
  argumentHint?: string | null;
  kind: 'builtin' | 'command' | 'skill';
  scope: 'builtin' | 'user' | 'project';
  modelInvocable?: boolean;
}
/**
 * `claw.workspace.trust` arguments: trust the workspace (true), distrust it (false), forget
 * the decision so the next start asks again (null), or only report (key absent).
 *
 * This interface was referenced by `ClawProtocol`'s JSON-Schema
 * via the `definition` "TrustParams".
 */
export interface TrustParams {
  trusted?: boolean | null;
}
/**
 * `claw.workspace.trust` result: the decision now in force and what it still holds back.
 *
 * This interface was referenced by `ClawProtocol`'s JSON-Schema
 * via the `definition` "TrustResult".
 */
export interface TrustResult {
  folder: string;
  trusted: boolean | null;
  heldBack?: string[];
}
/**
 * `claw/input` request params.
 *
 * This interface was referenced by `ClawProtocol`'s JSON-Schema
 * via the `definition` "InputParams".
 */
export interface InputParams {
  title: string;
  prompt: string;
  placeholder?: string | null;
  value?: string | null;
}
/**
 * `claw/input` result; `value` None when dismissed.
 *
 * This interface was referenced by `ClawProtocol`'s JSON-Schema
 * via the `definition` "InputResult".
 */
export interface InputResult {
  value?: string | null;
}
/**
 * `claw/permission` request params.
 *
 * This interface was referenced by `ClawProtocol`'s JSON-Schema
 * via the `definition` "PermissionParams".
 */
export interface PermissionParams {
  runId: string;
  toolCall: PermissionToolCall;
  subject?: string | null;
  options: PermissionOption[];
}
/**
 * The tool call a permission request is about.
 *
 * This interface was referenced by `ClawProtocol`'s JSON-Schema
 * via the `definition` "PermissionToolCall".
 */
export interface PermissionToolCall {
  toolCallId: string;
  title: string;
  kind?: string;
  rawInput?: {
    [k: string]: unknown;
  };
}
/**
 * One of the four ACP permission options.
 *
 * This interface was referenced by `ClawProtocol`'s JSON-Schema
 * via the `definition` "PermissionOption".
 */
export interface PermissionOption {
  optionId: 'allow_once' | 'allow_always' | 'reject_once' | 'reject_always';
  name: string;
  kind: 'allow_once' | 'allow_always' | 'reject_once' | 'reject_always';
}
/**
 * `claw/permission` result.
 *
 * This interface was referenced by `ClawProtocol`'s JSON-Schema
 * via the `definition` "PermissionResult".
 */
export interface PermissionResult {
  outcome: PermissionOutcome;
  feedback?: string | null;
}
/**
 * `{outcome: "selected", optionId}` or `{outcome: "cancelled"}`.
 *
 * This interface was referenced by `ClawProtocol`'s JSON-Schema
 * via the `definition` "PermissionOutcome".
 */
export interface PermissionOutcome {
  outcome: 'selected' | 'cancelled';
  optionId?: string | null;
}
/**
 * `claw/review` request params: one proposed change, before it lands.
 *
 * This interface was referenced by `ClawProtocol`'s JSON-Schema
 * via the `definition` "ReviewParams".
 */
export interface ReviewParams {
  runId: string;
  changeId: string;
  uri: string;
  kind: 'modify' | 'create' | 'delete' | 'rename';
  title: string;
  oldText: string;
  newText: string;
  hunks?: ReviewHunk[];
}
/**
 * One hunk of a proposed change; line numbers 1-based as in a unified diff.
 *
 * This interface was referenced by `ClawProtocol`'s JSON-Schema
 * via the `definition` "ReviewHunk".
 */
export interface ReviewHunk {
  index: number;
  oldStart: number;
  oldLines: number;
  newStart: number;
  newLines: number;
  header: string;
  diff: string;
}
/**
 * `claw/review` result; `partial` applies `acceptedHunks` only.
 *
 * This interface was referenced by `ClawProtocol`'s JSON-Schema
 * via the `definition` "ReviewResult".
 */
export interface ReviewResult {
  decision: 'accept' | 'reject' | 'partial';
  acceptedHunks?: number[] | null;
  feedback?: string | null;
}
/**
 * `claw/diagnostics` and `claw/saveDocuments` params.
 *
 * This interface was referenced by `ClawProtocol`'s JSON-Schema
 * via the `definition` "UrisParams".
 */
export interface UrisParams {
  uris: string[];
}
/**
 * `claw/diagnostics` result.
 *
 * This interface was referenced by `ClawProtocol`'s JSON-Schema
 * via the `definition` "DiagnosticsResult".
 */
export interface DiagnosticsResult {
  items?: DiagnosticsItem[];
}
/**
 * The diagnostics of one file, as LSP Diagnostic dicts.
 *
 * This interface was referenced by `ClawProtocol`'s JSON-Schema
 * via the `definition` "DiagnosticsItem".
 */
export interface DiagnosticsItem {
  uri: string;
  diagnostics?: {
    [k: string]: unknown;
  }[];
}
/**
 * `claw/saveDocuments` result.
 *
 * This interface was referenced by `ClawProtocol`'s JSON-Schema
 * via the `definition` "SaveResult".
 */
export interface SaveResult {
  saved?: string[];
}
/**
 * `claw/event` notification params: one session update of one run.
 *
 * This interface was referenced by `ClawProtocol`'s JSON-Schema
 * via the `definition` "EventParams".
 */
export interface EventParams {
  runId: string;
  sessionId: string;
  update:
    | AgentMessageChunk
    | AgentThoughtChunk
    | ToolCallStart
    | ToolCallProgress
    | AgentPlanUpdate
    | UsageUpdate
    | RunStartedUpdate
    | RunFinishedUpdate;
}
/**
 * This interface was referenced by `ClawProtocol`'s JSON-Schema
 * via the `definition` "AgentMessageChunk".
 */
export interface AgentMessageChunk {
  /**
   * A single item of content
   */
  content:
    | TextContentBlock
    | ImageContentBlock
    | AudioContentBlock
    | ResourceContentBlock
    | EmbeddedResourceContentBlock;
  /**
   * A unique identifier for the message this chunk belongs to.
   *
   * All chunks belonging to the same message share the same `messageId`.
   * A change in `messageId` indicates a new message has started.
   */
  messageId?: string | null;
  /**
   * The _meta property is reserved by ACP to allow clients and agents to attach additional
   * metadata to their interactions. Implementations MUST NOT make assumptions about values at
   * these keys.
   *
   * See protocol docs: [Extensibility](https://agentclientprotocol.com/protocol/extensibility)
   */
  _meta?: {
    [k: string]: unknown;
  } | null;
  sessionUpdate: 'agent_message_chunk';
}
/**
 * This interface was referenced by `ClawProtocol`'s JSON-Schema
 * via the `definition` "TextContentBlock".
 */
export interface TextContentBlock {
  /**
   * Optional annotations that help clients decide how to display or route this content.
   */
  annotations?: Annotations | null;
  /**
   * Text payload carried by this content block.
   */
  text: string;
  /**
   * The _meta property is reserved by ACP to allow clients and agents to attach additional
   * metadata to their interactions. Implementations MUST NOT make assumptions about values at
   * these keys.
   *
   * See protocol docs: [Extensibility](https://agentclientprotocol.com/protocol/extensibility)
   */
  _meta?: {
    [k: string]: unknown;
  } | null;
  type: 'text';
}
/**
 * This interface was referenced by `ClawProtocol`'s JSON-Schema
 * via the `definition` "Annotations".
 */
export interface Annotations {
  /**
   * Intended recipients for this content, such as the user or assistant.
   */
  audience?: string[] | null;
  /**
   * Timestamp indicating when the underlying resource was last modified.
   */
  lastModified?: string | null;
  /**
   * Relative importance of this content when clients choose what to surface.
   */
  priority?: number | null;
  /**
   * The _meta property is reserved by ACP to allow clients and agents to attach additional
   * metadata to their interactions. Implementations MUST NOT make assumptions about values at
   * these keys.
   *
   * See protocol docs: [Extensibility](https://agentclientprotocol.com/protocol/extensibility)
   */
  _meta?: {
    [k: string]: unknown;
  } | null;
}
/**
 * This interface was referenced by `ClawProtocol`'s JSON-Schema
 * via the `definition` "ImageContentBlock".
 */
export interface ImageContentBlock {
  /**
   * Optional annotations that help clients decide how to display or route this content.
   */
  annotations?: Annotations | null;
  /**
   * Base64-encoded media payload.
   */
  data: string;
  /**
   * MIME type describing the encoded media payload.
   */
  mimeType: string;
  /**
   * URI associated with this resource or media payload.
   */
  uri?: string | null;
  /**
   * The _meta property is reserved by ACP to allow clients and agents to attach additional
   * metadata to their interactions. Implementations MUST NOT make assumptions about values at
   * these keys.
   *
   * See protocol docs: [Extensibility](https://agentclientprotocol.com/protocol/extensibility)
   */
  _meta?: {
    [k: string]: unknown;
  } | null;
  type: 'image';
}
/**
 * This interface was referenced by `ClawProtocol`'s JSON-Schema
 * via the `definition` "AudioContentBlock".
 */
export interface AudioContentBlock {
  /**
   * Optional annotations that help clients decide how to display or route this content.
   */
  annotations?: Annotations | null;
  /**
   * Base64-encoded media payload.
   */
  data: string;
  /**
   * MIME type describing the encoded media payload.
   */
  mimeType: string;
  /**
   * The _meta property is reserved by ACP to allow clients and agents to attach additional
   * metadata to their interactions. Implementations MUST NOT make assumptions about values at
   * these keys.
   *
   * See protocol docs: [Extensibility](https://agentclientprotocol.com/protocol/extensibility)
   */
  _meta?: {
    [k: string]: unknown;
  } | null;
  type: 'audio';
}
/**
 * This interface was referenced by `ClawProtocol`'s JSON-Schema
 * via the `definition` "ResourceContentBlock".
 */
export interface ResourceContentBlock {
  /**
   * Optional annotations that help clients decide how to display or route this content.
   */
  annotations?: Annotations | null;
  /**
   * Optional human-readable details shown with this protocol object.
   */
  description?: string | null;
  /**
   * MIME type describing the encoded media payload.
   */
  mimeType?: string | null;
  /**
   * Human-readable name shown for this protocol object.
   */
  name: string;
  /**
   * Optional size of the linked resource in bytes, if known.
   */
  size?: number | null;
  /**
   * Optional display title for end-user UI.
   */
  title?: string | null;
  /**
   * URI associated with this resource or media payload.
   */
  uri: string;
  /**
   * The _meta property is reserved by ACP to allow clients and agents to attach additional
   * metadata to their interactions. Implementations MUST NOT make assumptions about values at
   * these keys.
   *
   * See protocol docs: [Extensibility](https://agentclientprotocol.com/protocol/extensibility)
   */
  _meta?: {
    [k: string]: unknown;
  } | null;
  type: 'resource_link';
}
/**
 * This interface was referenced by `ClawProtocol`'s JSON-Schema
 * via the `definition` "EmbeddedResourceContentBlock".
 */
export interface EmbeddedResourceContentBlock {
  /**
   * Optional annotations that help clients decide how to display or route this content.
   */
  annotations?: Annotations | null;
  /**
   * Embedded resource payload, either text or binary data.
   */
  resource: TextResourceContents | BlobResourceContents;
  /**
   * The _meta property is reserved by ACP to allow clients and agents to attach additional
   * metadata to their interactions. Implementations MUST NOT make assumptions about values at
   * these keys.
   *
   * See protocol docs: [Extensibility](https://agentclientprotocol.com/protocol/extensibility)
   */
  _meta?: {
    [k: string]: unknown;
  } | null;
  type: 'resource';
}
/**
 * This interface was referenced by `ClawProtocol`'s JSON-Schema
 * via the `definition` "TextResourceContents".
 */
export interface TextResourceContents {
  /**
   * MIME type describing the encoded media payload.
   */
  mimeType?: string | null;
  /**
   * Text payload carried by this content block.
   */
  text: string;
  /**
   * URI associated with this resource or media payload.
   */
  uri: string;
  /**
   * The _meta property is reserved by ACP to allow clients and agents to attach additional
   * metadata to their interactions. Implementations MUST NOT make assumptions about values at
   * these keys.
   *
   * See protocol docs: [Extensibility](https://agentclientprotocol.com/protocol/extensibility)
   */
  _meta?: {
    [k: string]: unknown;
  } | null;
}
/**
 * This interface was referenced by `ClawProtocol`'s JSON-Schema
 * via the `definition` "BlobResourceContents".
 */
export interface BlobResourceContents {
  /**
   * Base64-encoded bytes for a binary resource payload.
   */
  blob: string;
  /**
   * MIME type describing the encoded media payload.
   */
  mimeType?: string | null;
  /**
   * URI associated with this resource or media payload.
   */
  uri: string;
  /**
   * The _meta property is reserved by ACP to allow clients and agents to attach additional
   * metadata to their interactions. Implementations MUST NOT make assumptions about values at
   * these keys.
   *
   * See protocol docs: [Extensibility](https://agentclientprotocol.com/protocol/extensibility)
   */
  _meta?: {
    [k: string]: unknown;
  } | null;
}
/**
 * This interface was referenced by `ClawProtocol`'s JSON-Schema
 * via the `definition` "AgentThoughtChunk".
 */
export interface AgentThoughtChunk {
  /**
   * A single item of content
   */
  content:
    | TextContentBlock
    | ImageContentBlock
    | AudioContentBlock
    | ResourceContentBlock
    | EmbeddedResourceContentBlock;
  /**
   * A unique identifier for the message this chunk belongs to.
   *
   * All chunks belonging to the same message share the same `messageId`.
   * A change in `messageId` indicates a new message has started.
   */
  messageId?: string | null;
  /**
   * The _meta property is reserved by ACP to allow clients and agents to attach additional
   * metadata to their interactions. Implementations MUST NOT make assumptions about values at
   * these keys.
   *
   * See protocol docs: [Extensibility](https://agentclientprotocol.com/protocol/extensibility)
   */
  _meta?: {
    [k: string]: unknown;
  } | null;
  sessionUpdate: 'agent_thought_chunk';
}
/**
 * This interface was referenced by `ClawProtocol`'s JSON-Schema
 * via the `definition` "ToolCallStart".
 */
export interface ToolCallStart {
  /**
   * Unique identifier for this tool call within the session.
   */
  toolCallId: string;
  /**
   * Human-readable title describing what the tool is doing.
   */
  title: string;
  /**
   * The category of tool being invoked.
   * Helps clients choose appropriate icons and UI treatment.
   */
  kind?:
    | (
        | 'read'
        | 'edit'
        | 'delete'
        | 'move'
        | 'search'
        | 'execute'
        | 'think'
        | 'fetch'
        | 'switch_mode'
        | 'other'
      )
    | null;
  /**
   * Current execution status of the tool call.
   */
  status?: ('pending' | 'in_progress' | 'completed' | 'failed') | null;
  /**
   * Content produced by the tool call.
   */
  content?: (ContentToolCallContent | FileEditToolCallContent | TerminalToolCallContent)[] | null;
  /**
   * File locations affected by this tool call.
   * Enables "follow-along" features in clients.
   */
  locations?: ToolCallLocation[] | null;
  rawInput?: unknown;
  rawOutput?: unknown;
  /**
   * The _meta property is reserved by ACP to allow clients and agents to attach additional
   * metadata to their interactions. Implementations MUST NOT make assumptions about values at
   * these keys.
   *
   * See protocol docs: [Extensibility](https://agentclientprotocol.com/protocol/extensibility)
   */
  _meta?: {
    [k: string]: unknown;
  } | null;
  sessionUpdate: 'tool_call';
}
/**
 * This interface was referenced by `ClawProtocol`'s JSON-Schema
 * via the `definition` "ContentToolCallContent".
 */
export interface ContentToolCallContent {
  /**
   * The actual content block.
   */
  content:
    | TextContentBlock
    | ImageContentBlock
    | AudioContentBlock
    | ResourceContentBlock
    | EmbeddedResourceContentBlock;
  /**
   * The _meta property is reserved by ACP to allow clients and agents to attach additional
   * metadata to their interactions. Implementations MUST NOT make assumptions about values at
   * these keys.
   *
   * See protocol docs: [Extensibility](https://agentclientprotocol.com/protocol/extensibility)
   */
  _meta?: {
    [k: string]: unknown;
  } | null;
  type: 'content';
}
/**
 * This interface was referenced by `ClawProtocol`'s JSON-Schema
 * via the `definition` "FileEditToolCallContent".
 */
export interface FileEditToolCallContent {
  /**
   * The absolute file path being modified.
   */
  path: string;
  /**
   * The original content (None for new files).
   */
  oldText?: string | null;
  /**
   * The new content after modification.
   */
  newText: string;
  /**
   * The _meta property is reserved by ACP to allow clients and agents to attach additional
   * metadata to their interactions. Implementations MUST NOT make assumptions about values at
   * these keys.
   *
   * See protocol docs: [Extensibility](https://agentclientprotocol.com/protocol/extensibility)
   */
  _meta?: {
    [k: string]: unknown;
  } | null;
  type: 'diff';
}
/**
 * This interface was referenced by `ClawProtocol`'s JSON-Schema
 * via the `definition` "TerminalToolCallContent".
 */
export interface TerminalToolCallContent {
  /**
   * Identifier of the terminal instance to embed in the content stream.
   */
  terminalId: string;
  /**
   * The _meta property is reserved by ACP to allow clients and agents to attach additional
   * metadata to their interactions. Implementations MUST NOT make assumptions about values at
   * these keys.
   *
   * See protocol docs: [Extensibility](https://agentclientprotocol.com/protocol/extensibility)
   */
  _meta?: {
    [k: string]: unknown;
  } | null;
  type: 'terminal';
}
/**
 * This interface was referenced by `ClawProtocol`'s JSON-Schema
 * via the `definition` "ToolCallLocation".
 */
export interface ToolCallLocation {
  /**
   * The absolute file path being accessed or modified.
   */
  path: string;
  /**
   * Optional line number within the file.
   */
  line?: number | null;
  /**
   * The _meta property is reserved by ACP to allow clients and agents to attach additional
   * metadata to their interactions. Implementations MUST NOT make assumptions about values at
   * these keys.
   *
   * See protocol docs: [Extensibility](https://agentclientprotocol.com/protocol/extensibility)
   */
  _meta?: {
    [k: string]: unknown;
  } | null;
}
/**
 * This interface was referenced by `ClawProtocol`'s JSON-Schema
 * via the `definition` "ToolCallProgress".
 */
export interface ToolCallProgress {
  /**
   * The ID of the tool call being updated.
   */
  toolCallId: string;
  /**
   * Update the tool kind.
   */
  kind?:
    | (
        | 'read'
        | 'edit'
        | 'delete'
        | 'move'
        | 'search'
        | 'execute'
        | 'think'
        | 'fetch'
        | 'switch_mode'
        | 'other'
      )
    | null;
  /**
   * Update the execution status.
   */
  status?: ('pending' | 'in_progress' | 'completed' | 'failed') | null;
  /**
   * Update the human-readable title.
   */
  title?: string | null;
  /**
   * Replace the content collection.
   */
  content?: (ContentToolCallContent | FileEditToolCallContent | TerminalToolCallContent)[] | null;
  /**
   * Replace the locations collection.
   */
  locations?: ToolCallLocation[] | null;
  rawInput?: unknown;
  rawOutput?: unknown;
  /**
   * The _meta property is reserved by ACP to allow clients and agents to attach additional
   * metadata to their interactions. Implementations MUST NOT make assumptions about values at
   * these keys.
   *
   * See protocol docs: [Extensibility](https://agentclientprotocol.com/protocol/extensibility)
   */
  _meta?: {
    [k: string]: unknown;
  } | null;
  sessionUpdate: 'tool_call_update';
}
/**
 * This interface was referenced by `ClawProtocol`'s JSON-Schema
 * via the `definition` "AgentPlanUpdate".
 */
export interface AgentPlanUpdate {
  /**
   * The list of tasks to be accomplished.
   *
   * When updating a plan, the agent must send a complete list of all entries
   * with their current status. The client replaces the entire plan with each update.
   */
  entries: PlanEntry[];
  /**
   * The _meta property is reserved by ACP to allow clients and agents to attach additional
   * metadata to their interactions. Implementations MUST NOT make assumptions about values at
   * these keys.
   *
   * See protocol docs: [Extensibility](https://agentclientprotocol.com/protocol/extensibility)
   */
  _meta?: {
    [k: string]: unknown;
  } | null;
  sessionUpdate: 'plan';
}
/**
 * This interface was referenced by `ClawProtocol`'s JSON-Schema
 * via the `definition` "PlanEntry".
 */
export interface PlanEntry {
  /**
   * Human-readable description of what this task aims to accomplish.
   */
  content: string;
  /**
   * The relative importance of this task.
   * Used to indicate which tasks are most critical to the overall goal.
   */
  priority: 'high' | 'medium' | 'low';
  /**
   * Current execution status of this task.
   */
  status: 'pending' | 'in_progress' | 'completed';
  /**
   * The _meta property is reserved by ACP to allow clients and agents to attach additional
   * metadata to their interactions. Implementations MUST NOT make assumptions about values at
   * these keys.
   *
   * See protocol docs: [Extensibility](https://agentclientprotocol.com/protocol/extensibility)
   */
  _meta?: {
    [k: string]: unknown;
  } | null;
}
/**
 * This interface was referenced by `ClawProtocol`'s JSON-Schema
 * via the `definition` "UsageUpdate".
 */
export interface UsageUpdate {
  /**
   * Tokens currently in context.
   */
  used: number;
  /**
   * Total context window size in tokens.
   */
  size: number;
  /**
   * Cumulative session cost (optional).
   */
  cost?: Cost | null;
  /**
   * The _meta property is reserved by ACP to allow clients and agents to attach additional
   * metadata to their interactions. Implementations MUST NOT make assumptions about values at
   * these keys.
   *
   * See protocol docs: [Extensibility](https://agentclientprotocol.com/protocol/extensibility)
   */
  _meta?: {
    [k: string]: unknown;
  } | null;
  sessionUpdate: 'usage_update';
}
/**
 * This interface was referenced by `ClawProtocol`'s JSON-Schema
 * via the `definition` "Cost".
 */
export interface Cost {
  /**
   * Total cumulative cost for session.
   */
  amount: number;
  /**
   * ISO 4217 currency code (e.g., "USD", "EUR").
   */
  currency: string;
  /**
   * The _meta property is reserved by ACP to allow clients and agents to attach additional
   * metadata to their interactions. Implementations MUST NOT make assumptions about values at
   * these keys.
   *
   * See protocol docs: [Extensibility](https://agentclientprotocol.com/protocol/extensibility)
   */
  _meta?: {
    [k: string]: unknown;
  } | null;
}
/**
 * claw's own session update (no ACP equivalent): a run began, with the user's prompt.
 *
 * This interface was referenced by `ClawProtocol`'s JSON-Schema
 * via the `definition` "RunStartedUpdate".
 */
export interface RunStartedUpdate {
  sessionUpdate: 'run_started';
  prompt: string;
  model: string;
}
/**
 * claw's own session update (ACP ends a prompt turn with its response instead): a run ended.
 *
 * This interface was referenced by `ClawProtocol`'s JSON-Schema
 * via the `definition` "RunFinishedUpdate".
 */
export interface RunFinishedUpdate {
  sessionUpdate: 'run_finished';
  stopReason: string;
  result?: string;
  error?: string | null;
  usage: Usage;
  costUsd: number;
}
