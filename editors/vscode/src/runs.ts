/**
 * Tracks runs and the session from `claw/event` notifications: which runs are active, the events of
 * recent runs (so a view opened late can replay them), the session's cost, and the prompts sent.
 */
import * as vscode from 'vscode';
import type { ClawEvent, StatusResult } from './protocol';

const KEPT_RUNS = 30;

/** A prompt this extension sent, shown in the transcript before the run's events. */
export interface PromptRecord {
  runId: string;
  prompt: string;
  sessionId?: string;
}

export class RunTracker implements vscode.Disposable {
  private readonly eventEmitter = new vscode.EventEmitter<ClawEvent>();
  private readonly changeEmitter = new vscode.EventEmitter<void>();
  private readonly promptEmitter = new vscode.EventEmitter<PromptRecord>();
  private readonly newRunEmitter = new vscode.EventEmitter<string>();
  private readonly prompted = new Set<string>();
  private readonly events = new Map<string, ClawEvent[]>();
  /** Every event and prompt, in arrival order (bounded), for views that open late. */
  readonly history: (ClawEvent | PromptRecord)[] = [];
  readonly active = new Set<string>();
  sessionId: string | undefined;
  status: StatusResult | undefined;
  sessionCostUsd: number | undefined;

  /** Fires for every `claw/event`. */
  readonly onEvent = this.eventEmitter.event;
  /** Fires when the set of active runs, the session or the cost changes. */
  readonly onDidChange = this.changeEmitter.event;
  /** Fires when this extension sent a prompt. */
  readonly onPrompt = this.promptEmitter.event;
  /** Fires with the run id of the first event of a run. */
  readonly onNewRun = this.newRunEmitter.event;

  /** Records one `claw/event` notification. */
  handle(event: ClawEvent): void {
    if (event.update.sessionUpdate === 'run_started') {
      // The server names every run's prompt, whoever started it (a code action, another command).
      this.started(event.runId, event.sessionId, event.update.prompt);
    }
    const list = this.events.get(event.runId) ?? [];
    if (!this.events.has(event.runId)) {
      this.newRunEmitter.fire(event.runId);
      this.events.set(event.runId, list);
      while (this.events.size > KEPT_RUNS) {
        const oldest = this.events.keys().next().value as string;
        this.events.delete(oldest);
      }
    }
    list.push(event);
    this.pushHistory(event);
    if (event.sessionId) {
      this.sessionId = event.sessionId;
    }
    const update = event.update;
    if (update.sessionUpdate === 'run_finished') {
      this.active.delete(event.runId);
      if (typeof update.costUsd === 'number' && this.sessionCostUsd === undefined) {
        this.sessionCostUsd = update.costUsd;
      }
    } else {
      this.active.add(event.runId);
      if (update.sessionUpdate === 'usage_update' && update.cost) {
        this.sessionCostUsd = update.cost.amount;
      }
    }
    this.eventEmitter.fire(event);
    this.changeEmitter.fire();
  }

  /** Records a run the extension started (before its first event arrives). */
  started(runId: string, sessionId: string | undefined, prompt: string | undefined): void {
    if (!this.events.has(runId)) {
      this.active.add(runId);
    }
    if (sessionId) {
      this.sessionId = sessionId;
    }
    if (prompt && !this.prompted.has(runId)) {
      this.prompted.add(runId);
      const record: PromptRecord = { runId, prompt, sessionId };
      this.pushHistory(record);
      this.promptEmitter.fire(record);
    }
    this.changeEmitter.fire();
  }

  /** Whether the prompt of `runId` is known (sent from here, or looked up). */
  hasPrompt(runId: string): boolean {
    return this.prompted.has(runId);
  }

  /** The events seen so far for `runId`. */
  eventsOf(runId: string): readonly ClawEvent[] {
    return this.events.get(runId) ?? [];
  }

  isFinished(runId: string): boolean {
    return this.eventsOf(runId).some((e) => e.update.sessionUpdate === 'run_finished');
  }

  /** Takes the server's `claw.status` answer as the truth about model, session and cost. */
  setStatus(status: StatusResult | undefined): void {
    this.status = status;
    if (status?.sessionId) {
      this.sessionId = status.sessionId;
    }
    if (typeof status?.costUsd === 'number') {
      this.sessionCostUsd = status.costUsd;
    }
    this.changeEmitter.fire();
  }

  /** Forgets the runs of a server that stopped. */
  reset(): void {
    this.active.clear();
    this.changeEmitter.fire();
  }

  private pushHistory(item: ClawEvent | PromptRecord): void {
    this.history.push(item);
    if (this.history.length > 5000) {
      this.history.splice(0, this.history.length - 5000);
    }
  }

  dispose(): void {
    this.eventEmitter.dispose();
    this.changeEmitter.dispose();
    this.promptEmitter.dispose();
    this.newRunEmitter.dispose();
  }
}
