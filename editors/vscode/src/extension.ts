/**
 * Entry point: starts the claw-lsp server through vscode-languageclient, wires the custom `claw/*`
 * requests to their UI pieces, restarts on settings changes and keeps the status bar true.
 */
import * as vscode from 'vscode';
import { ExecuteCommandRequest, type LanguageClient, State } from 'vscode-languageclient/node';
import { registerChatParticipant } from './chat';
import * as commands from './commands';
import { handleDiagnostics } from './diagnostics';
import { startE2eHook } from './e2eHook';
import { handleInput } from './input';
import { handlePermission } from './permission';
import { NotificationProgressFeature } from './progress';
import {
  type AskParams,
  type AskResult,
  type ClawEvent,
  type InputParams,
  Method,
  type PermissionParams,
  type ReviewParams,
  type StartedRun,
  type UrisParams,
  ServerCommand,
} from './protocol';
import { REVIEW_SCHEME, ReviewController } from './review';
import { RunTracker } from './runs';
import { handleSaveDocuments } from './saveDocuments';
import { onInterpreterChange } from './python';
import {
  NoPythonError,
  type ServerCommand as ServerCommandLine,
  createClient,
  findExecutable,
  missingServerMessage,
  resolveServerCommand,
  started,
} from './server';
import type { ClawService } from './service';
import { SECTION } from './settings';
import { StatusBar } from './status';
import { TranscriptPanel } from './transcript';

class Claw implements ClawService, vscode.Disposable {
  readonly log = vscode.window.createOutputChannel('Claw', { log: true });
  readonly tracker = new RunTracker();
  readonly statusBar = new StatusBar(this.tracker);
  readonly review = new ReviewController(this.log, () => this.lastEditor());
  readonly transcript = new TranscriptPanel(this);
  client: LanguageClient | undefined;
  private starting: Promise<LanguageClient | undefined> | undefined;
  private restartPending = false;
  /** The command the running (or last tried) server was started with. */
  private serverCommand: ServerCommandLine | undefined;
  /** The "no Python" message was shown: it is shown once per window. */
  private noPythonShown = false;
  private editor: vscode.TextEditor | undefined = vscode.window.activeTextEditor;
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor() {
    this.subscriptions.push(
      vscode.window.onDidChangeActiveTextEditor((editor) => {
        if (editor && editor.document.uri.scheme !== REVIEW_SCHEME && editor.document.uri.scheme !== 'output') {
          this.editor = editor;
        }
      }),
      vscode.workspace.onDidChangeConfiguration((e) => this.configurationChanged(e)),
      vscode.workspace.onDidGrantWorkspaceTrust(() => {
        this.log.info('Workspace trusted: starting the agent.');
        void this.start();
      }),
      this.tracker.onEvent((event) => this.eventArrived(event)),
    );
    void onInterpreterChange(() => this.interpreterChanged()).then((d) => d && this.subscriptions.push(d));
  }

  /** The Python extension selected another interpreter: a bundled server (or none) restarts with it. */
  private interpreterChanged(): void {
    if (!vscode.workspace.isTrusted || (this.client && !this.serverCommand?.bundled)) {
      return;
    }
    this.log.info('The selected Python interpreter changed: restarting claw-lsp with it.');
    if (this.tracker.active.size > 0) {
      this.restartPending = true;
      return;
    }
    void this.restart();
  }

  lastEditor(): vscode.TextEditor | undefined {
    return vscode.window.activeTextEditor ?? this.editor;
  }

  /** Starts the server unless it runs or the workspace is untrusted. */
  start(): Promise<LanguageClient | undefined> {
    if (!vscode.workspace.isTrusted) {
      this.statusBar.setState('untrusted');
      this.log.info('The workspace is not trusted: the agent stays off until it is.');
      return Promise.resolve(undefined);
    }
    if (this.client) {
      return Promise.resolve(this.client);
    }
    this.starting ??= this.doStart().finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  private async doStart(): Promise<LanguageClient | undefined> {
    let command: ServerCommandLine;
    try {
      command = await resolveServerCommand(this.log);
    } catch (error) {
      if (!(error instanceof NoPythonError)) {
        throw error;
      }
      this.log.error(error.message);
      this.statusBar.setState('failed', 'no Python 3.11+ for the bundled server');
      if (!this.noPythonShown) {
        this.noPythonShown = true;
        this.serverFailed(error.message, true);
      }
      return undefined;
    }
    this.serverCommand = command;
    const where = `${[command.command, ...command.args].join(' ')} (from ${command.source})`;
    if (!findExecutable(command.command)) {
      this.log.error(`claw-lsp not found: ${where}. PATH searched: ${process.env.PATH ?? ''}`);
      this.statusBar.setState('failed', `${where}: not found`);
      this.serverFailed(missingServerMessage(command));
      return undefined;
    }
    this.log.info(`Starting ${where}`);
    this.statusBar.setState('starting', where);
    const client = createClient(command, this.log);
    client.registerFeature(new NotificationProgressFeature(client));
    this.registerHandlers(client);
    try {
      await client.start();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.log.error(`claw-lsp did not start: ${message}`);
      this.statusBar.setState('failed', `${where}: ${message}`);
      void client.dispose().catch(() => undefined);
      this.serverFailed(
        /ENOENT/.test(message) ? missingServerMessage(command) : `Claw: could not start ${where}: ${message}`,
      );
      return undefined;
    }
    started(client);
    this.client = client;
    client.onDidChangeState((e) => {
      if (this.client !== client) {
        return;
      }
      if (e.newState === State.Stopped) {
        this.tracker.reset();
        this.review.clearAll();
        this.statusBar.setState('stopped');
      } else if (e.newState === State.Running) {
        this.statusBar.setState('ready', where);
      }
    });
    this.statusBar.setState('ready', where);
    this.log.info('claw-lsp is running.');
    void commands.refreshStatus(this);
    return client;
  }

  /** The one notification for a server that did not start, with the setting one click away. */
  private serverFailed(message: string, selectInterpreter = false): void {
    const choices = [
      ...(selectInterpreter && vscode.extensions.getExtension('ms-python.python') ? ['Select Interpreter'] : []),
      'Open Settings',
      'Show Output',
    ];
    void vscode.window.showErrorMessage(message, ...choices).then((choice) => {
      if (choice === 'Select Interpreter') {
        void vscode.commands.executeCommand('python.setInterpreter');
      } else if (choice === 'Show Output') {
        this.log.show();
      } else if (choice === 'Open Settings') {
        void vscode.commands.executeCommand('workbench.action.openSettings', 'claw.serverPath');
      }
    });
  }

  private registerHandlers(client: LanguageClient): void {
    client.onNotification(Method.event, (event: ClawEvent) => this.tracker.handle(event));
    client.onRequest(Method.input, (params: InputParams, token: vscode.CancellationToken) => handleInput(params, token));
    client.onRequest(Method.permission, (params: PermissionParams, token: vscode.CancellationToken) => handlePermission(params, token));
    client.onRequest(Method.review, (params: ReviewParams, token: vscode.CancellationToken) => this.review.handle(params, token));
    client.onRequest(Method.diagnostics, (params: UrisParams, token: vscode.CancellationToken) => handleDiagnostics(client, params, token));
    client.onRequest(Method.saveDocuments, (params: UrisParams) => handleSaveDocuments(client, params));
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.tracker.reset();
    this.review.clearAll();
    this.statusBar.setState(vscode.workspace.isTrusted ? 'stopped' : 'untrusted');
    if (client) {
      try {
        await client.stop(3000);
      } catch (error) {
        this.log.warn(`Stopping claw-lsp: ${String(error)}`);
      }
    }
  }

  async restart(): Promise<void> {
    this.restartPending = false;
    this.log.info('Restarting claw-lsp.');
    await this.stop();
    await this.start();
  }

  async ready(): Promise<LanguageClient | undefined> {
    if (!vscode.workspace.isTrusted) {
      const choice = await vscode.window.showWarningMessage(
        'Claw is off: this workspace is not trusted.',
        'Manage Workspace Trust',
      );
      if (choice) {
        await vscode.commands.executeCommand('workbench.trust.manage');
      }
      return undefined;
    }
    return this.start();
  }

  async execute<T>(command: string, arg: object = {}): Promise<T> {
    const client = await this.ready();
    if (!client) {
      throw new Error('claw-lsp is not running');
    }
    return (await client.sendRequest(ExecuteCommandRequest.type, { command, arguments: [arg] })) as T;
  }

  async ask(params: AskParams): Promise<StartedRun | undefined> {
    try {
      const answer = await this.execute<AskResult>(ServerCommand.ask, params);
      if (!answer?.runId || !answer.sessionId) {
        return undefined; // the user dismissed the server's prompt
      }
      const result: StartedRun = { runId: answer.runId, sessionId: answer.sessionId };
      this.tracker.started(result.runId, result.sessionId, params.prompt ?? undefined);
      this.log.info(`Run ${result.runId} started in session ${result.sessionId}.`);
      if (!this.transcript.visible) {
        this.transcript.show(true);
      }
      return result;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.log.error(`claw.ask failed: ${message}`);
      void vscode.window.showErrorMessage(`Claw: ${message}`);
      return undefined;
    }
  }

  async cancel(runId?: string): Promise<void> {
    try {
      const result = await this.execute<{ cancelled?: string[] }>(ServerCommand.cancel, runId ? { runId } : {});
      if (!runId && !result?.cancelled?.length) {
        void vscode.window.showInformationMessage('Claw: no run to cancel.');
      }
    } catch (error) {
      void vscode.window.showErrorMessage(`Claw: cancel failed: ${String(error)}`);
    }
  }

  private eventArrived(event: ClawEvent): void {
    if (event.update.sessionUpdate !== 'run_finished') {
      return;
    }
    this.review.runEnded(event.runId);
    void commands.refreshStatus(this);
    if (this.restartPending && this.tracker.active.size === 0) {
      void this.restart();
    }
  }

  private configurationChanged(e: vscode.ConfigurationChangeEvent): void {
    if (!e.affectsConfiguration(SECTION)) {
      return;
    }
    if (!vscode.workspace.isTrusted) {
      return;
    }
    if (this.tracker.active.size > 0) {
      this.restartPending = true;
      this.log.info('Settings changed: claw-lsp restarts when the current run ends.');
      return;
    }
    void this.restart();
  }

  dispose(): void {
    for (const s of this.subscriptions) {
      s.dispose();
    }
    this.transcript.dispose();
    this.review.dispose();
    this.statusBar.dispose();
    this.tracker.dispose();
    this.log.dispose();
  }
}

let claw: Claw | undefined;

export function activate(context: vscode.ExtensionContext): void {
  const instance = new Claw();
  claw = instance;
  const run =
    <A extends unknown[]>(fn: (...args: A) => Promise<void>) =>
    async (...args: A): Promise<void> => {
      try {
        await fn(...args);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        instance.log.error(message);
        void vscode.window.showErrorMessage(`Claw: ${message}`);
      }
    };
  const C = commands.Command;
  context.subscriptions.push(
    instance,
    vscode.commands.registerCommand(C.ask, run((arg?: string | { prompt?: string }) => commands.ask(instance, arg))),
    vscode.commands.registerCommand(C.fix, run(() => commands.fix(instance))),
    vscode.commands.registerCommand(C.cancel, run(() => commands.cancel(instance))),
    vscode.commands.registerCommand(C.sessions, run(() => commands.sessions(instance))),
    vscode.commands.registerCommand(
      C.newSession,
      run(async () => {
        await commands.newSession(instance);
        instance.transcript.clear();
      }),
    ),
    vscode.commands.registerCommand(C.status, run(() => commands.status(instance))),
    vscode.commands.registerCommand(C.trustWorkspace, run(() => commands.setTrust(instance, true))),
    vscode.commands.registerCommand(C.untrustWorkspace, run(() => commands.setTrust(instance, false))),
    vscode.commands.registerCommand(C.showTranscript, () => instance.transcript.show()),
    vscode.commands.registerCommand(C.restartServer, run(() => instance.restart())),
    vscode.commands.registerCommand(C.showOutput, () => instance.log.show()),
  );
  const participant = registerChatParticipant(instance);
  if (participant) {
    context.subscriptions.push(participant);
  }
  // Test-only (tests/vscode): off unless CLAW_E2E_CONTROL_FILE is set in the environment.
  const hook = startE2eHook(instance);
  if (hook) {
    context.subscriptions.push(hook);
  }
  void instance.start();
}

export async function deactivate(): Promise<void> {
  await claw?.stop();
  claw = undefined;
}
