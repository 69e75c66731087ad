/**
 * The claw-lsp server <-> VS Code contract (docs/protocol.md): command ids, custom method names and
 * the payload shapes this extension reads or writes.
 */
import type { Diagnostic, Range } from 'vscode-languageclient/node';

/** Server commands (`workspace/executeCommand`). */
export const ServerCommand = {
  ask: 'claw.ask',
  cancel: 'claw.cancel',
  sessionsList: 'claw.sessions.list',
  sessionsResume: 'claw.sessions.resume',
  sessionsNew: 'claw.sessions.new',
  reviewAccept: 'claw.review.accept',
  reviewReject: 'claw.review.reject',
  status: 'claw.status',
} as const;

/** Custom server -> client methods, declared in `initializationOptions.clientFeatures`. */
export const Method = {
  event: 'claw/event',
  input: 'claw/input',
  permission: 'claw/permission',
  review: 'claw/review',
  diagnostics: 'claw/diagnostics',
  saveDocuments: 'claw/saveDocuments',
} as const;

/** What this extension handles: sent as `initializationOptions.clientFeatures`. */
export const CLIENT_FEATURES = {
  event: true,
  input: true,
  permission: true,
  review: true,
  diagnostics: true,
  saveDocuments: true,
} as const;

export interface AskParams {
  uri?: string;
  range?: Range;
  prompt?: string;
  sessionId?: string;
  action?: string;
  diagnostic?: Diagnostic;
}

export interface AskResult {
  runId: string;
  sessionId: string;
}

export interface SessionInfo {
  sessionId: string;
  title?: string;
  updatedAt?: string;
  messages?: number;
  active?: boolean;
}

export interface Usage {
  input_tokens?: number;
  output_tokens?: number;
  [key: string]: unknown;
}

export interface RunInfo {
  runId: string;
  sessionId?: string;
  prompt?: string;
  step?: number;
  running?: boolean;
  stopReason?: string | null;
}

export interface StatusResult {
  model?: string;
  provider?: string;
  permissionMode?: string;
  sessionId?: string;
  runs?: RunInfo[];
  usage?: Usage;
  costUsd?: number;
}

export interface TextContent {
  type: 'text';
  text: string;
}

export interface ToolCallContent {
  type: 'content';
  content: TextContent;
}

export type SessionUpdate =
  | { sessionUpdate: 'run_started'; prompt: string; model?: string }
  | { sessionUpdate: 'agent_message_chunk' | 'agent_thought_chunk' | 'user_message_chunk'; content: TextContent }
  | {
      sessionUpdate: 'tool_call';
      toolCallId: string;
      title: string;
      kind?: string;
      status?: ToolStatus;
      rawInput?: unknown;
      locations?: { path: string; line?: number }[];
    }
  | {
      sessionUpdate: 'tool_call_update';
      toolCallId: string;
      status?: ToolStatus;
      title?: string;
      content?: ToolCallContent[];
    }
  | { sessionUpdate: 'plan'; entries: PlanEntry[] }
  | { sessionUpdate: 'usage'; used?: number; size?: number; cost?: { amount: number; currency: string } }
  | {
      sessionUpdate: 'run_finished';
      stopReason?: string;
      result?: string;
      error?: string | null;
      usage?: Usage;
      costUsd?: number;
    };

export type ToolStatus = 'pending' | 'in_progress' | 'completed' | 'failed';

export interface PlanEntry {
  content: string;
  priority?: string;
  status: 'pending' | 'in_progress' | 'completed';
}

export interface ClawEvent {
  runId: string;
  sessionId?: string;
  update: SessionUpdate;
}

export interface InputParams {
  title?: string;
  prompt?: string;
  placeholder?: string;
  value?: string;
}

export interface InputResult {
  value: string | null;
}

export interface PermissionOption {
  optionId: string;
  name: string;
  kind: 'allow_once' | 'allow_always' | 'reject_once' | 'reject_always';
}

export interface PermissionParams {
  runId?: string;
  toolCall?: { toolCallId?: string; title?: string; kind?: string; rawInput?: unknown };
  subject?: string;
  options: PermissionOption[];
}

export interface PermissionResult {
  outcome: { outcome: 'selected'; optionId: string } | { outcome: 'cancelled' };
  feedback?: string;
}

export interface ReviewHunk {
  index: number;
  oldStart: number;
  oldLines: number;
  newStart: number;
  newLines: number;
  header: string;
  diff: string;
}

export interface ReviewParams {
  runId?: string;
  changeId: string;
  uri: string;
  kind: 'modify' | 'create' | 'delete' | 'rename';
  title?: string;
  oldText: string;
  newText: string;
  hunks: ReviewHunk[];
}

export interface ReviewResult {
  decision: 'accept' | 'reject' | 'partial';
  acceptedHunks?: number[];
  feedback?: string;
}

export interface DiagnosticsParams {
  uris: string[];
}

export interface DiagnosticsResult {
  items: { uri: string; diagnostics: Diagnostic[] }[];
}

export interface SaveDocumentsParams {
  uris: string[];
}

export interface SaveDocumentsResult {
  saved: string[];
}
