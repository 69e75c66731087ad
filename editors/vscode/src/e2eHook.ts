/**
 * Test-only control channel for the end-to-end tests in tests/vscode. It is OFF unless the extension
 * host's environment sets `CLAW_E2E_CONTROL_FILE`; nothing else in the extension depends on it.
 *
 * When set, it listens on 127.0.0.1 (a random port, written to that file once listening) and answers
 * `POST /<name>` with a JSON body and a JSON answer, so a test can read what VS Code itself holds
 * (`document.getText()`, `isDirty`) instead of scraping the rendered editor:
 *   /open     {path}                 open the file in a (non-preview) editor; answers its /document
 *   /document {path}                 {open, text, version, isDirty, eol, tabDirty} of that file
 *   /documents {}                    [{path, isDirty, version}] of every open file document
 *   /ask      {path, prompt}         a fresh session, then a run like `Claw: Ask…` on that file: {runId, sessionId}
 *   /wait     {runId, timeoutMs}     once the run's `run_finished` arrived: {finished, update}
 *   /status   {}                     the server's `claw.status` answer, or {running: false}
 *   /restart  {}                     restarts the server now (as `Claw: Restart Server`); then /status
 *   /revertAndClose {path}           reverts the file's editor and closes it
 *   /reviews  {}                     the pending inline reviews (ReviewController.list())
 *   /transcript {}                   the transcript's items and their HTML
 *   /closeEditors {path}             closes every tab of that file (keeps its document's text)
 *   /tabs     {}                     [{group, label, kind: text|diff|webview|other, path?, active}] of every tab
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as vscode from 'vscode';
import { type ClawEvent, ServerCommand } from './protocol';
import type { ClawService } from './service';
import type { TranscriptPanel } from './transcript';

/** What the hook reads beyond the service: the transcript. */
export interface E2eTarget extends ClawService {
  readonly transcript: TranscriptPanel;
}

type Body = Record<string, unknown>;

function documentOf(file: string): vscode.TextDocument | undefined {
  return vscode.workspace.textDocuments.find((d) => d.uri.scheme === 'file' && d.uri.fsPath === file);
}

function tabDirty(file: string): boolean {
  return vscode.window.tabGroups.all.some((g) =>
    g.tabs.some((t) => t.input instanceof vscode.TabInputText && t.input.uri.fsPath === file && t.isDirty),
  );
}

function describe(file: string): Body {
  const doc = documentOf(file);
  if (!doc) {
    return { open: false, tabDirty: tabDirty(file) };
  }
  return {
    open: true,
    text: doc.getText(),
    version: doc.version,
    isDirty: doc.isDirty,
    eol: doc.eol === vscode.EndOfLine.CRLF ? 'CRLF' : 'LF',
    tabDirty: tabDirty(file),
  };
}

function finished(service: ClawService, runId: string): ClawEvent | undefined {
  return service.tracker.eventsOf(runId).find((e) => e.update.sessionUpdate === 'run_finished');
}

function waitForRun(service: ClawService, runId: string, timeoutMs: number): Promise<Body> {
  return new Promise((resolve) => {
    const done = finished(service, runId);
    if (done) {
      resolve({ finished: true, update: done.update });
      return;
    }
    const timer = setTimeout(() => {
      sub.dispose();
      resolve({ finished: false });
    }, timeoutMs);
    const sub = service.tracker.onEvent((event) => {
      if (event.runId === runId && event.update.sessionUpdate === 'run_finished') {
        clearTimeout(timer);
        sub.dispose();
        resolve({ finished: true, update: event.update });
      }
    });
  });
}

async function handle(service: E2eTarget, name: string, body: Body): Promise<unknown> {
  const file = typeof body.path === 'string' ? body.path : '';
  switch (name) {
    case 'open': {
      const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(file));
      await vscode.window.showTextDocument(doc, { preview: false });
      // Let vscode-languageclient's didOpen reach the server before a run is asked for.
      await new Promise((r) => setTimeout(r, 200));
      return describe(file);
    }
    case 'document':
      return describe(file);
    case 'documents':
      return vscode.workspace.textDocuments
        .filter((d) => d.uri.scheme === 'file')
        .map((d) => ({ path: d.uri.fsPath, isDirty: d.isDirty, version: d.version }));
    case 'ask': {
      const client = await service.ready();
      if (!client) {
        throw new Error('claw-lsp is not running');
      }
      const session = await service.execute<{ sessionId: string }>(ServerCommand.sessionsNew);
      const uri = file ? client.code2ProtocolConverter.asUri(vscode.Uri.file(file)) : undefined;
      return service.ask({ prompt: typeof body.prompt === 'string' ? body.prompt : '', uri, sessionId: session.sessionId });
    }
    case 'wait':
      return waitForRun(service, String(body.runId), Number(body.timeoutMs ?? 60_000));
    case 'status':
      return service.client ? service.execute(ServerCommand.status) : { running: false };
    case 'restart':
      await service.restart();
      return service.execute(ServerCommand.status);
    case 'revertAndClose': {
      const doc = documentOf(file);
      if (doc) {
        await vscode.window.showTextDocument(doc, { preview: false });
        await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
      }
      return describe(file);
    }
    case 'reviews':
      return service.review.list();
    case 'transcript':
      return service.transcript.snapshot();
    case 'tabs':
      return vscode.window.tabGroups.all.flatMap((g) =>
        g.tabs.map((t) => ({
          group: g.viewColumn,
          label: t.label,
          active: t.isActive,
          kind:
            t.input instanceof vscode.TabInputText
              ? 'text'
              : t.input instanceof vscode.TabInputTextDiff
                ? 'diff'
                : t.input instanceof vscode.TabInputWebview
                  ? 'webview'
                  : 'other',
          path: t.input instanceof vscode.TabInputText ? t.input.uri.fsPath : undefined,
        })),
      );
    case 'closeEditors': {
      const tabs = vscode.window.tabGroups.all
        .flatMap((g) => g.tabs)
        .filter((t) => t.input instanceof vscode.TabInputText && t.input.uri.fsPath === file);
      await vscode.window.tabGroups.close(tabs, true);
      return { closed: tabs.length };
    }
    default:
      throw new Error(`unknown e2e control request ${name}`);
  }
}

/** Starts the control channel when `CLAW_E2E_CONTROL_FILE` is set; otherwise does nothing. */
export function startE2eHook(service: E2eTarget): vscode.Disposable | undefined {
  const portFile = process.env.CLAW_E2E_CONTROL_FILE;
  if (!portFile) {
    return undefined;
  }
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const name = (req.url ?? '/').replace(/^\//, '').split('?')[0];
      let body: Body;
      try {
        body = chunks.length ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Body) : {};
      } catch {
        body = {};
      }
      handle(service, name, body).then(
        (answer) => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify(answer ?? null));
        },
        (error: unknown) => {
          res.writeHead(500, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: error instanceof Error ? error.message : String(error) }));
        },
      );
    });
  });
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    if (address && typeof address === 'object') {
      fs.writeFileSync(portFile, String(address.port));
      service.log.info(`e2e control channel on 127.0.0.1:${address.port} (CLAW_E2E_CONTROL_FILE)`);
    }
  });
  return { dispose: () => server.close() };
}
