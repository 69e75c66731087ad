/** What the UI pieces need from the extension: the running server, the run tracker, the reviews, and a way to ask. */
import type * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import type { AskParams, StartedRun } from './protocol';
import type { ReviewController } from './review';
import type { RunTracker } from './runs';

export interface ClawService {
  readonly tracker: RunTracker;
  readonly log: vscode.LogOutputChannel;
  /** The pending inline reviews (`claw/review`). */
  readonly review: ReviewController;
  /** The language client, when the server runs. */
  readonly client: LanguageClient | undefined;
  /** The running client, starting the server first if needed; undefined when it cannot run. */
  ready(): Promise<LanguageClient | undefined>;
  /** Runs a server command (`workspace/executeCommand`), starting the server first if needed. */
  execute<T>(command: string, arg?: object): Promise<T>;
  /** Starts a run with `claw.ask`; shows errors to the user and returns undefined on failure. */
  ask(params: AskParams): Promise<StartedRun | undefined>;
  /** Stops the server and starts it again (with the current settings). */
  restart(): Promise<void>;
  /** Cancels one run, or every run. */
  cancel(runId?: string): Promise<void>;
  /** The text editor the user worked in last (a webview focus does not clear it). */
  lastEditor(): vscode.TextEditor | undefined;
}
