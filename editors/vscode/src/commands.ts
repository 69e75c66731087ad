/**
 * The extension's own palette and menu commands. They gather the editor context (URI, selection,
 * prompt) and then run the server's `claw.*` commands, whose ids vscode-languageclient registers itself.
 */
import * as vscode from 'vscode';
import { ServerCommand, type SessionInfo, type StatusResult, type TrustResult } from './protocol';
import { askForPrompt } from './promptPick';
import type { ClawService } from './service';

export const Command = {
  ask: 'claw.vscode.ask',
  fix: 'claw.vscode.fix',
  cancel: 'claw.vscode.cancel',
  sessions: 'claw.vscode.sessions',
  newSession: 'claw.vscode.newSession',
  status: 'claw.vscode.status',
  showTranscript: 'claw.vscode.showTranscript',
  restartServer: 'claw.vscode.restartServer',
  showOutput: 'claw.vscode.showOutput',
  trustWorkspace: 'claw.vscode.trustWorkspace',
  untrustWorkspace: 'claw.vscode.untrustWorkspace',
} as const;

function relativeName(uri: vscode.Uri): string {
  return vscode.workspace.asRelativePath(uri, false);
}

/** `Claw: Ask…`: the prompt comes from the prompt input, with slash-command completion (or the command's argument). */
export async function ask(service: ClawService, arg?: string | { prompt?: string }): Promise<void> {
  const editor = vscode.window.activeTextEditor ?? service.lastEditor();
  let prompt = typeof arg === 'string' ? arg : arg?.prompt;
  if (!prompt) {
    const where = editor
      ? editor.selection.isEmpty
        ? `about ${relativeName(editor.document.uri)}`
        : `about the selection in ${relativeName(editor.document.uri)}`
      : 'about this workspace';
    prompt = await askForPrompt(service, {
      title: `Ask Claw ${where}`,
      placeholder: 'e.g. fix the off-by-one error in this function (/ for commands)',
    });
  }
  if (!prompt?.trim()) {
    return;
  }
  const c2p = (await service.ready())?.code2ProtocolConverter;
  if (!c2p) {
    return;
  }
  await service.ask({
    prompt: prompt.trim(),
    uri: editor ? c2p.asUri(editor.document.uri) : undefined,
    range: editor ? c2p.asRange(editor.selection) : undefined,
    sessionId: service.tracker.sessionId,
  });
}

interface DiagnosticPick extends vscode.QuickPickItem {
  diagnostic: vscode.Diagnostic;
}

/** `Claw: Fix Problem…`: the problem at the cursor (or one picked from the file) becomes a fix run. */
export async function fix(service: ClawService): Promise<void> {
  const editor = vscode.window.activeTextEditor ?? service.lastEditor();
  if (!editor) {
    void vscode.window.showInformationMessage('Claw: open a file with a problem to fix.');
    return;
  }
  const all = vscode.languages.getDiagnostics(editor.document.uri);
  const line = editor.selection.active.line;
  const atCursor = all.filter((d) => d.range.intersection(editor.selection) || (d.range.start.line <= line && line <= d.range.end.line));
  const candidates = atCursor.length ? atCursor : all;
  if (!candidates.length) {
    void vscode.window.showInformationMessage(`Claw: no problems reported in ${relativeName(editor.document.uri)}.`);
    return;
  }
  let diagnostic = candidates[0];
  if (candidates.length > 1) {
    const picked = await vscode.window.showQuickPick<DiagnosticPick>(
      candidates.map((d) => ({
        label: d.message.split('\n')[0],
        description: `${d.source ?? ''} line ${d.range.start.line + 1}`.trim(),
        diagnostic: d,
      })),
      { title: 'Claw: fix which problem?' },
    );
    if (!picked) {
      return;
    }
    diagnostic = picked.diagnostic;
  }
  const c2p = (await service.ready())?.code2ProtocolConverter;
  if (!c2p) {
    return;
  }
  const source = diagnostic.source ? ` (${diagnostic.source})` : '';
  await service.ask({
    uri: c2p.asUri(editor.document.uri),
    range: c2p.asRange(diagnostic.range),
    action: 'fix',
    diagnostic: c2p.asDiagnosticsSync([diagnostic])[0],
    prompt: `Fix this problem${source} at line ${diagnostic.range.start.line + 1} of ${relativeName(editor.document.uri)}: ${diagnostic.message}`,
    sessionId: service.tracker.sessionId,
  });
}

/** `Claw: Cancel Run`: cancels every active run. */
export async function cancel(service: ClawService): Promise<void> {
  await service.cancel();
}

interface SessionPick extends vscode.QuickPickItem {
  session: SessionInfo;
}

/** `Claw: Sessions…`: pick a saved session and make it the active one. */
export async function sessions(service: ClawService): Promise<void> {
  const { sessions: list } = await service.execute<{ sessions: SessionInfo[] }>(ServerCommand.sessionsList, {});
  if (!list?.length) {
    void vscode.window.showInformationMessage('Claw: no saved sessions yet.');
    return;
  }
  const picked = await vscode.window.showQuickPick<SessionPick>(
    list.map((s) => ({
      label: `${s.active ? '$(circle-filled) ' : ''}${s.title || s.sessionId}`,
      description: s.updatedAt ? new Date(s.updatedAt).toLocaleString() : undefined,
      detail: `${s.messages ?? 0} messages · ${s.sessionId}`,
      session: s,
    })),
    { title: 'Claw: resume a session', matchOnDetail: true },
  );
  if (!picked) {
    return;
  }
  const { sessionId } = await service.execute<{ sessionId: string }>(ServerCommand.sessionsResume, {
    sessionId: picked.session.sessionId,
  });
  service.tracker.sessionId = sessionId;
  await refreshStatus(service);
  void vscode.window.showInformationMessage(`Claw: resumed session ${picked.session.title || sessionId}.`);
}

/** `Claw: New Session`. */
export async function newSession(service: ClawService): Promise<void> {
  const { sessionId } = await service.execute<{ sessionId: string }>(ServerCommand.sessionsNew, {});
  service.tracker.sessionId = sessionId;
  service.tracker.sessionCostUsd = undefined;
  await refreshStatus(service);
  void vscode.window.showInformationMessage(`Claw: new session ${sessionId}.`);
}

/** Asks the server for `claw.status` and feeds the status bar; quiet on failure. */
export async function refreshStatus(service: ClawService): Promise<StatusResult | undefined> {
  try {
    const status = await service.execute<StatusResult>(ServerCommand.status, {});
    service.tracker.setStatus(status);
    return status;
  } catch (error) {
    service.log.warn(`claw.status failed: ${String(error)}`);
    return undefined;
  }
}

/** `Claw: Show Status`. */
export async function status(service: ClawService): Promise<void> {
  const s = await refreshStatus(service);
  if (!s) {
    void vscode.window.showWarningMessage('Claw: the server did not answer claw.status; see the Claw output.');
    return;
  }
  const cost = typeof s.costUsd === 'number' ? `$${s.costUsd.toFixed(4)}` : '$0';
  const runs = s.runs?.filter((r) => r.running).length ?? 0;
  const choice = await vscode.window.showInformationMessage(
    `Claw: ${s.model ?? 'unknown model'} (${s.provider ?? '?'}) · mode ${s.permissionMode ?? '?'} · ` +
      `${runs ? `${runs} run(s) active` : 'idle'} · session ${s.sessionId ?? 'none'} · ${cost}`,
    'Show Transcript',
    'Sessions…',
  );
  if (choice === 'Show Transcript') {
    await vscode.commands.executeCommand(Command.showTranscript);
  } else if (choice === 'Sessions…') {
    await vscode.commands.executeCommand(Command.sessions);
  }
}

/**
 * `Claw: Trust Workspace` / `Claw: Stop Trusting Workspace`: the server remembers the decision for
 * the folder (the settings, hooks and MCP servers the folder ships apply only while it is trusted).
 */
export async function setTrust(service: ClawService, trusted: boolean): Promise<void> {
  const result = await service.execute<TrustResult>(ServerCommand.workspaceTrust, { trusted });
  await refreshStatus(service);
  const held = result.heldBack ?? [];
  const message = trusted
    ? `Claw: ${result.folder} is trusted; its own settings apply.`
    : `Claw: ${result.folder} is not trusted` +
      (held.length ? `; held back: ${held.join('; ')}.` : '; its own settings may only narrow what Claw does.');
  void vscode.window.showInformationMessage(message);
}
