/**
 * The transcript webview: streams `claw/event` (markdown text, thoughts, tool calls with status, the
 * plan, the run's result) and takes follow-up prompts in an input box at the bottom.
 */
import * as crypto from 'node:crypto';
import * as vscode from 'vscode';
import { type ClawEvent, type PlanEntry, type ToolStatus, textOf, toolCallText } from './protocol';
import type { PromptRecord } from './runs';
import type { ClawService } from './service';

/** One rendered block of the transcript. */
type Item =
  | { kind: 'user'; runId: string; text: string }
  | { kind: 'text' | 'thought'; runId: string; text: string }
  | { kind: 'tool'; runId: string; id: string; title: string; toolKind?: string; status: ToolStatus; output?: string }
  | { kind: 'plan'; runId: string; entries: PlanEntry[] }
  | { kind: 'finished'; runId: string; stopReason?: string; error?: string | null; costUsd?: number };

type FromWebview = { type: 'prompt'; text: string } | { type: 'cancel' } | { type: 'newSession' } | { type: 'ready' };

function isPrompt(item: ClawEvent | PromptRecord): item is PromptRecord {
  return (item as PromptRecord).prompt !== undefined;
}

/** Folds events into transcript items (text chunks join, tool updates patch their call, plans replace). */
export class TranscriptModel {
  readonly items: Item[] = [];
  private readonly tools = new Map<string, Extract<Item, { kind: 'tool' }>>();
  private plan: Extract<Item, { kind: 'plan' }> | undefined;

  add(entry: ClawEvent | PromptRecord): void {
    if (isPrompt(entry)) {
      // The run's first events can arrive before `claw.ask` answers: the prompt still goes first.
      const first = this.items.findIndex((item) => item.runId === entry.runId);
      const item: Item = { kind: 'user', runId: entry.runId, text: entry.prompt };
      this.items.splice(first < 0 ? this.items.length : first, 0, item);
      return;
    }
    const { runId, update } = entry;
    const last = this.items[this.items.length - 1];
    switch (update.sessionUpdate) {
      case 'agent_message_chunk':
      case 'agent_thought_chunk': {
        const kind = update.sessionUpdate === 'agent_message_chunk' ? 'text' : 'thought';
        if (last && last.kind === kind && last.runId === runId) {
          last.text += textOf(update.content);
        } else {
          this.items.push({ kind, runId, text: textOf(update.content) });
        }
        break;
      }
      case 'tool_call': {
        const item: Extract<Item, { kind: 'tool' }> = {
          kind: 'tool',
          runId,
          id: update.toolCallId,
          title: update.title,
          toolKind: update.kind ?? undefined,
          status: update.status ?? 'pending',
        };
        this.tools.set(update.toolCallId, item);
        this.items.push(item);
        break;
      }
      case 'tool_call_update': {
        let item = this.tools.get(update.toolCallId);
        if (!item) {
          item = { kind: 'tool', runId, id: update.toolCallId, title: update.title ?? update.toolCallId, status: 'pending' };
          this.tools.set(update.toolCallId, item);
          this.items.push(item);
        }
        if (update.status) {
          item.status = update.status;
        }
        if (update.title) {
          item.title = update.title;
        }
        const text = toolCallText(update.content);
        if (text) {
          item.output = text;
        }
        break;
      }
      case 'plan':
        if (this.plan && this.plan.runId === runId) {
          this.plan.entries = update.entries;
        } else {
          this.plan = { kind: 'plan', runId, entries: update.entries };
          this.items.push(this.plan);
        }
        break;
      case 'run_finished':
        this.items.push({
          kind: 'finished',
          runId,
          stopReason: update.stopReason,
          error: update.error,
          costUsd: update.costUsd,
        });
        break;
      default:
        break;
    }
  }
}

export class TranscriptPanel implements vscode.Disposable {
  static readonly viewType = 'claw.transcript';
  private panel: vscode.WebviewPanel | undefined;
  private model = new TranscriptModel();
  private readonly subscriptions: vscode.Disposable[] = [];
  private pending: NodeJS.Timeout | undefined;

  constructor(private readonly service: ClawService) {
    for (const entry of service.tracker.history) {
      this.model.add(entry);
    }
    this.subscriptions.push(
      service.tracker.onEvent((event) => this.add(event)),
      service.tracker.onPrompt((prompt) => this.add(prompt)),
      service.tracker.onDidChange(() => this.schedule()),
    );
  }

  /** Opens the panel (or brings it forward) beside the editor. */
  show(preserveFocus = false): void {
    if (this.panel) {
      this.panel.reveal(undefined, preserveFocus);
      return;
    }
    this.panel = vscode.window.createWebviewPanel(
      TranscriptPanel.viewType,
      'Claw Transcript',
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus },
      { enableScripts: true, retainContextWhenHidden: true, localResourceRoots: [] },
    );
    this.panel.webview.html = this.html(this.panel.webview);
    this.panel.webview.onDidReceiveMessage((message: FromWebview) => this.receive(message), undefined, this.subscriptions);
    this.panel.onDidDispose(() => {
      this.panel = undefined;
    });
  }

  get visible(): boolean {
    return this.panel !== undefined;
  }

  private add(entry: ClawEvent | PromptRecord): void {
    this.model.add(entry);
    this.schedule();
  }

  private schedule(): void {
    if (!this.panel || this.pending) {
      return;
    }
    this.pending = setTimeout(() => {
      this.pending = undefined;
      void this.panel?.webview.postMessage({
        type: 'state',
        items: this.model.items,
        running: this.service.tracker.active.size > 0,
        sessionId: this.service.tracker.sessionId,
      });
    }, 30);
  }

  private async receive(message: FromWebview): Promise<void> {
    switch (message.type) {
      case 'ready':
        this.schedule();
        break;
      case 'prompt': {
        const text = message.text.trim();
        if (!text) {
          return;
        }
        const editor = this.service.lastEditor();
        await this.service.ask({
          prompt: text,
          uri: editor ? this.service.client?.code2ProtocolConverter.asUri(editor.document.uri) : undefined,
          sessionId: this.service.tracker.sessionId,
        });
        break;
      }
      case 'cancel':
        await this.service.cancel();
        break;
      case 'newSession':
        await vscode.commands.executeCommand('claw.vscode.newSession');
        break;
    }
  }

  private html(webview: vscode.Webview): string {
    const nonce = crypto.randomBytes(16).toString('base64');
    const csp = `default-src 'none'; style-src ${webview.cspSource} 'nonce-${nonce}'; script-src 'nonce-${nonce}';`;
    return /* html */ `<!DOCTYPE html>
<html lang="en"><head><meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>Claw Transcript</title>
<style nonce="${nonce}">
  body { font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); color: var(--vscode-foreground);
         margin: 0; padding: 0; display: flex; flex-direction: column; height: 100vh; }
  #log { flex: 1; overflow-y: auto; padding: 8px 12px; }
  .item { margin: 6px 0; }
  .user { background: var(--vscode-input-background); border-left: 3px solid var(--vscode-focusBorder); padding: 4px 8px; white-space: pre-wrap; }
  .thought { opacity: 0.7; font-style: italic; }
  .tool { font-family: var(--vscode-editor-font-family); border: 1px solid var(--vscode-panel-border); border-radius: 3px; padding: 3px 6px; }
  .tool .status { display: inline-block; width: 1.4em; }
  .tool pre { max-height: 12em; overflow: auto; margin: 4px 0 0; }
  .tool.failed { border-color: var(--vscode-errorForeground); }
  .plan ul { list-style: none; padding-left: 4px; margin: 2px 0; }
  .finished { opacity: 0.8; font-size: 0.9em; border-top: 1px dashed var(--vscode-panel-border); padding-top: 2px; }
  .finished.error { color: var(--vscode-errorForeground); opacity: 1; }
  pre { background: var(--vscode-textCodeBlock-background); padding: 6px; overflow-x: auto; white-space: pre-wrap; }
  code { font-family: var(--vscode-editor-font-family); }
  #bar { display: flex; gap: 6px; padding: 8px 12px; border-top: 1px solid var(--vscode-panel-border); }
  #prompt { flex: 1; resize: vertical; min-height: 2.4em; font-family: inherit; color: var(--vscode-input-foreground);
            background: var(--vscode-input-background); border: 1px solid var(--vscode-input-border, transparent); padding: 4px; }
  button { color: var(--vscode-button-foreground); background: var(--vscode-button-background); border: none; padding: 4px 10px; cursor: pointer; }
  button.secondary { color: var(--vscode-button-secondaryForeground); background: var(--vscode-button-secondaryBackground); }
  #state { font-size: 0.85em; opacity: 0.8; padding: 0 12px 6px; }
  .empty { opacity: 0.7; }
</style></head>
<body>
<div id="log" role="log" aria-live="polite"><p class="empty">No runs yet. Ask Claw below, from the command palette ("Claw: Ask…") or from a lightbulb.</p></div>
<div id="state"></div>
<div id="bar">
  <textarea id="prompt" rows="2" placeholder="Ask Claw (Enter to send, Shift+Enter for a new line)" aria-label="Prompt"></textarea>
  <button id="send" title="Send">Send</button>
  <button id="cancel" class="secondary" title="Cancel the running agent">Cancel</button>
  <button id="new" class="secondary" title="Start a new session">New</button>
</div>
<script nonce="${nonce}">
(function () {
  const vscode = acquireVsCodeApi();
  const log = document.getElementById('log');
  const state = document.getElementById('state');
  const prompt = document.getElementById('prompt');
  const ICON = { pending: '○', in_progress: '◐', completed: '✓', failed: '✗' };
  const PLAN = { pending: '☐', in_progress: '◐', completed: '☑' };
  function esc(s) { return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c])); }
  function inline(s) {
    return esc(s)
      .replace(/\`([^\`]+)\`/g, '<code>$1</code>')
      .replace(/\\*\\*([^*]+)\\*\\*/g, '<strong>$1</strong>')
      .replace(/(^|[^*])\\*([^*]+)\\*/g, '$1<em>$2</em>');
  }
  function markdown(text) {
    const out = [];
    const parts = String(text).split(/\`\`\`/);
    parts.forEach((part, i) => {
      if (i % 2 === 1) {
        const nl = part.indexOf('\\n');
        out.push('<pre><code>' + esc(nl >= 0 ? part.slice(nl + 1) : part) + '</code></pre>');
        return;
      }
      let list = false;
      for (const line of part.split('\\n')) {
        const heading = /^(#{1,6})\\s+(.*)$/.exec(line);
        const bullet = /^\\s*(?:[-*]|\\d+\\.)\\s+(.*)$/.exec(line);
        if (bullet) { if (!list) { out.push('<ul>'); list = true; } out.push('<li>' + inline(bullet[1]) + '</li>'); continue; }
        if (list) { out.push('</ul>'); list = false; }
        if (heading) { out.push('<h' + heading[1].length + '>' + inline(heading[2]) + '</h' + heading[1].length + '>'); }
        else if (line.trim()) { out.push('<p>' + inline(line) + '</p>'); }
      }
      if (list) { out.push('</ul>'); }
    });
    return out.join('');
  }
  function render(item) {
    switch (item.kind) {
      case 'user': return '<div class="item user" data-kind="user">' + esc(item.text) + '</div>';
      case 'text': return '<div class="item text" data-kind="text">' + markdown(item.text) + '</div>';
      case 'thought': return '<div class="item thought" data-kind="thought">' + markdown(item.text) + '</div>';
      case 'tool': return '<div class="item tool ' + esc(item.status) + '" data-kind="tool" data-status="' + esc(item.status) + '">' +
        '<span class="status">' + (ICON[item.status] || '?') + '</span>' + esc(item.title) +
        (item.output ? '<details><summary>output</summary><pre>' + esc(item.output) + '</pre></details>' : '') + '</div>';
      case 'plan': return '<div class="item plan" data-kind="plan"><strong>Plan</strong><ul>' +
        item.entries.map((e) => '<li>' + (PLAN[e.status] || '☐') + ' ' + inline(e.content) + '</li>').join('') + '</ul></div>';
      case 'finished': {
        const cost = typeof item.costUsd === 'number' ? ' · $' + item.costUsd.toFixed(4) : '';
        const err = item.error ? ' — ' + esc(item.error) : '';
        return '<div class="item finished' + (item.error ? ' error' : '') + '" data-kind="finished">Run finished: ' +
          esc(item.stopReason || (item.error ? 'error' : 'done')) + err + cost + '</div>';
      }
    }
    return '';
  }
  window.addEventListener('message', (event) => {
    const msg = event.data;
    if (msg.type !== 'state') { return; }
    const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 20;
    if (msg.items.length) { log.innerHTML = msg.items.map(render).join(''); }
    state.textContent = (msg.running ? 'Running… ' : 'Idle. ') + (msg.sessionId ? 'Session ' + msg.sessionId : '');
    if (atBottom) { log.scrollTop = log.scrollHeight; }
  });
  function send() {
    const text = prompt.value.trim();
    if (!text) { return; }
    vscode.postMessage({ type: 'prompt', text });
    prompt.value = '';
  }
  document.getElementById('send').addEventListener('click', send);
  document.getElementById('cancel').addEventListener('click', () => vscode.postMessage({ type: 'cancel' }));
  document.getElementById('new').addEventListener('click', () => vscode.postMessage({ type: 'newSession' }));
  prompt.addEventListener('keydown', (e) => { if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); send(); } });
  vscode.postMessage({ type: 'ready' });
})();
</script>
</body></html>`;
  }

  dispose(): void {
    if (this.pending) {
      clearTimeout(this.pending);
    }
    this.panel?.dispose();
    for (const s of this.subscriptions) {
      s.dispose();
    }
  }
}
