/**
 * The claw-lsp server <-> VS Code contract (docs/protocol.md): command ids and custom method names.
 * The payload types are generated from the server's pydantic models (protocol.generated.ts, made by
 * `python scripts/gen_protocol.py`; a test fails when they drift).
 */

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
  workspaceTrust: 'claw.workspace.trust',
  commandsList: 'claw.commands.list',
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

import type {
  AgentMessageChunk,
  EventParams,
  SessionEntry,
  ToolCallProgress,
  ToolCallStart,
} from './protocol.generated';

export type {
  AskParams,
  AskResult,
  CancelResult,
  DiagnosticsResult,
  EventParams,
  InputParams,
  InputResult,
  OkResult,
  PermissionOption,
  PermissionParams,
  PermissionResult,
  PlanEntry,
  ReviewHunk,
  ReviewParams,
  ReviewResult,
  RunInfo,
  SaveResult,
  SessionEntry,
  SessionIdResult,
  SessionsListResult,
  SlashCommandInfo,
  StatusResult,
  TrustResult,
  UrisParams,
  Usage,
} from './protocol.generated';

/** A run `claw.ask` started (its answer when not dismissed). */
export interface StartedRun {
  runId: string;
  sessionId: string;
}

/** One `claw/event` notification. */
export type ClawEvent = EventParams;
/** One session update: ACP's shapes plus claw's run_started / run_finished. */
export type SessionUpdate = EventParams['update'];
/** A tool call's status, as ACP names it. */
export type ToolStatus = NonNullable<ToolCallStart['status']>;
/** One stored session, as `claw.sessions.list` lists it. */
export type SessionInfo = SessionEntry;

/** The text of a content block ('' for images, audio and resources). */
export function textOf(block: AgentMessageChunk['content']): string {
  return block.type === 'text' ? block.text : '';
}

/** The text a tool call's content carries (its text blocks, one per line). */
export function toolCallText(content: ToolCallProgress['content']): string {
  return (content ?? [])
    .map((c) => (c.type === 'content' ? textOf(c.content) : ''))
    .filter((t) => t)
    .join('\n');
}
