/**
 * The transcript webview: per run the prompt, the agent's text, its thinking (collapsed), each tool
 * call with its status and output (an edit's diff; rejected hunks and the feedback sent), the plan,
 * pending reviews with a button that reveals them, errors, usage and cost. Takes follow-up prompts
 * in an input box at the bottom. The HTML is made in the extension (transcriptHtml.ts).
 */
import * as crypto from 'node:crypto';
import * as vscode from 'vscode';
import { unifiedDiff } from './diff';
import { type ClawEvent, ServerCommand, type SlashCommandInfo, textOf, toolCallText } from './protocol';
import type { ReviewRecord } from './review';
import type { PromptRecord } from './runs';
import type { ClawService } from './service';
import { type Item, type RunUsage, type ToolItem, renderItems, renderPending, stateLine } from './transcriptHtml';

type FromWebview =
  | { type: 'prompt'; text: string }
  | { type: 'cancel' }
  | { type: 'newSession' }
  | { type: 'ready' }
  | { type: 'showReview'; changeId: string };

function isPrompt(item: ClawEvent | PromptRecord): item is PromptRecord {
  return (item as PromptRecord).prompt !== undefined;
}

interface ClawMeta {
  review?: { decision?: string; acceptedHunks?: number[]; rejectedHunks?: number[]; feedback?: string | null };
  permission?: string;
  parentToolCallId?: string;
}

/** The `_meta.claw` object of a session update, when it has one. */
function clawMeta(meta: unknown): ClawMeta | undefined {
  if (!meta || typeof meta !== 'object') {
    return undefined;
  }
  const claw: unknown = 'claw' in meta ? meta.claw : undefined;
  if (!claw || typeof claw !== 'object') {
    return undefined;
  }
  return claw;
}

/** Folds events into transcript items (text chunks join, tool updates patch their call, plans replace). */
export class TranscriptModel {
  readonly items: Item[] = [];
  /** The latest context size and session cost, per run. */
  readonly usage = new Map<string, RunUsage>();
  private readonly tools = new Map<string, ToolItem>();
  private plan: Extract<Item, { kind: 'plan' }> | undefined;
  private keys = 0;

  /** `hidden`: runs of an earlier session, left out of a clean transcript. */
  constructor(
    private readonly relative: (path: string) => string = (p) => p,
    private readonly hidden: ReadonlySet<string> = new Set(),
  ) {}

  /** Every run this model has seen. */
  runs(): Set<string> {
    return new Set([...this.hidden, ...this.items.map((i) => i.runId), ...this.usage.keys()]);
  }

  add(entry: ClawEvent | PromptRecord): void {
    if (this.hidden.has(entry.runId)) {
      return;
    }
    if (isPrompt(entry)) {
      // The run's first events can arrive before `claw.ask` answers: the prompt still goes first.
      if (this.items.some((item) => item.kind === 'user' && item.runId === entry.runId)) {
        return;
      }
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
          this.items.push({ kind, runId, text: textOf(update.content), key: this.keys++ });
        }
        break;
      }
      case 'tool_call': {
        const item: ToolItem = {
          kind: 'tool',
          runId,
          id: update.toolCallId,
          title: update.title,
          toolKind: update.kind ?? undefined,
          status: update.status ?? 'pending',
          diffs: [],
          parent: clawMeta(update._meta)?.parentToolCallId,
        };
        this.tools.set(update.toolCallId, item);
        this.items.push(item);
        break;
      }
      case 'tool_call_update': {
        let item = this.tools.get(update.toolCallId);
        if (!item) {
          item = { kind: 'tool', runId, id: update.toolCallId, title: update.title ?? update.toolCallId, status: 'pending', diffs: [] };
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
        const diffs = (update.content ?? []).flatMap((c) =>
          c.type === 'diff' ? [{ path: this.relative(c.path), diff: unifiedDiff(c.oldText ?? '', c.newText) }] : [],
        );
        if (diffs.length) {
          item.diffs = diffs;
        }
        const meta = clawMeta(update._meta);
        if (meta?.permission === 'denied') {
          item.mark = 'denied';
        } else if (meta?.review?.decision === 'partial') {
          item.mark = 'partial';
        } else if (meta?.review?.decision === 'reject') {
          item.mark = 'rejected';
        }
        if (meta?.review) {
          item.review = {
            decision: meta.review.decision ?? '',
            acceptedHunks: meta.review.acceptedHunks ?? [],
            rejectedHunks: meta.review.rejectedHunks ?? [],
            ...(meta.review.feedback ? { feedback: meta.review.feedback } : {}),
          };
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
      case 'usage_update':
        this.usage.set(runId, { used: update.used, size: update.size, costUsd: update.cost?.amount });
        break;
      case 'run_finished':
        this.items.push({
          kind: 'finished',
          runId,
          stopReason: update.stopReason,
          error: update.error,
          costUsd: update.costUsd,
          usage: update.usage,
          context: this.usage.get(runId),
        });
        break;
      default:
        break;
    }
  }

  /** A review that ended, shown where it was decided. */
  addReview(record: ReviewRecord): void {
    if (this.hidden.has(record.runId)) {
      return;
    }
    this.items.push({ kind: 'review', ...record });
  }

  /** The latest usage of any run (for the state line). */
  latestUsage(): RunUsage | undefined {
    return [...this.usage.values()].pop();
  }
}

export class TranscriptPanel implements vscode.Disposable {
  static readonly viewType = 'claw.transcript';
  private panel: vscode.WebviewPanel | undefined;
  private model: TranscriptModel;
  private readonly subscriptions: vscode.Disposable[] = [];
  private pending: NodeJS.Timeout | undefined;
  private readonly relative = (p: string): string => vscode.workspace.asRelativePath(p, false);

  constructor(private readonly service: ClawService) {
    this.model = new TranscriptModel(this.relative);
    for (const entry of service.tracker.history) {
      this.model.add(entry);
    }
    this.subscriptions.push(
      service.tracker.onEvent((event) => {
        this.add(event);
        if (event.update.sessionUpdate === 'run_finished') {
          void this.sendCommands(); // the run may have added a command file
        }
      }),
      service.tracker.onPrompt((prompt) => this.add(prompt)),
      service.tracker.onDidChange(() => this.schedule()),
      service.review.onDidEnd((record) => {
        this.model.addReview(record);
        this.schedule();
      }),
      service.review.onDidChange(() => this.schedule()),
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

  /** A clean transcript (a new session): what earlier runs still send is left out. */
  clear(): void {
    this.model = new TranscriptModel(this.relative, this.model.runs());
    this.schedule();
  }

  /** What the transcript holds (for the e2e tests). */
  snapshot(): { items: readonly Item[]; html: string } {
    return { items: this.model.items, html: renderItems(this.model.items) };
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
      const reviews = this.service.review.list();
      void this.panel?.webview.postMessage({
        type: 'state',
        html: renderItems(this.model.items),
        empty: this.model.items.length === 0,
        pending: renderPending(reviews),
        state: stateLine(this.service.tracker.active.size > 0, this.service.tracker.sessionId, this.model.latestUsage()),
      });
    }, 30);
  }

  /** Gives the follow-up input the slash commands to complete (`claw.commands.list`). */
  private async sendCommands(): Promise<void> {
    if (!this.panel || !this.service.client) {
      return;
    }
    try {
      const result = await this.service.execute<{ commands?: SlashCommandInfo[] }>(ServerCommand.commandsList, {});
      void this.panel?.webview.postMessage({ type: 'commands', commands: result?.commands ?? [] });
    } catch (error) {
      this.service.log.warn(`claw.commands.list failed: ${String(error)}`);
    }
  }

  private async receive(message: FromWebview): Promise<void> {
    switch (message.type) {
      case 'ready':
        this.schedule();
        await this.sendCommands();
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
      case 'showReview':
        await this.service.review.show(message.changeId);
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
  .item.tool.nested { margin-left: 1.5em; }
  .user { background: var(--vscode-input-background); border-left: 3px solid var(--vscode-focusBorder); padding: 4px 8px; white-space: pre-wrap; }
  .text p { margin: 4px 0; }
  .thought { opacity: 0.75; }
  .thought summary, .tool summary, .review summary { cursor: pointer; opacity: 0.85; }
  .tool, .review { border: 1px solid var(--vscode-panel-border); border-radius: 3px; padding: 3px 6px; }
  .tool .head { font-family: var(--vscode-editor-font-family); }
  .tool .status { display: inline-block; width: 1.4em; }
  .tool pre { max-height: 16em; overflow: auto; margin: 4px 0 0; }
  .tool.failed, .tool.rejected, .tool.denied { border-color: var(--vscode-errorForeground); }
  .tool.partial { border-color: var(--vscode-editorWarning-foreground); }
  .badge { font-size: 0.85em; padding: 0 4px; border-radius: 3px; margin-left: 4px;
           background: var(--vscode-badge-background); color: var(--vscode-badge-foreground); }
  .review-note { font-size: 0.9em; margin-top: 2px; }
  .plan ul { list-style: none; padding-left: 4px; margin: 2px 0; }
  .finished { opacity: 0.8; font-size: 0.9em; border-top: 1px dashed var(--vscode-panel-border); padding-top: 2px; }
  .finished.error { color: var(--vscode-errorForeground); opacity: 1; }
  pre { background: var(--vscode-textCodeBlock-background); padding: 6px; overflow-x: auto; white-space: pre-wrap; }
  code { font-family: var(--vscode-editor-font-family); }
  pre.diff { white-space: pre; font-family: var(--vscode-editor-font-family); }
  pre.diff span { display: block; }
  .d-add { background: var(--vscode-diffEditor-insertedLineBackground); }
  .d-del { background: var(--vscode-diffEditor-removedLineBackground); }
  .d-hunk { opacity: 0.7; }
  #pending:empty { display: none; }
  .pending-review { display: flex; align-items: center; justify-content: space-between; gap: 8px; margin: 4px 12px; padding: 4px 8px;
                    border: 1px solid var(--vscode-editorWarning-foreground); border-radius: 3px; }
  #bar { display: flex; gap: 6px; padding: 8px 12px; border-top: 1px solid var(--vscode-panel-border); }
  #prompt { flex: 1; resize: vertical; min-height: 2.4em; font-family: inherit; color: var(--vscode-input-foreground);
            background: var(--vscode-input-background); border: 1px solid var(--vscode-input-border, transparent); padding: 4px; }
  button { color: var(--vscode-button-foreground); background: var(--vscode-button-background); border: none; padding: 4px 10px; cursor: pointer; }
  button.secondary { color: var(--vscode-button-secondaryForeground); background: var(--vscode-button-secondaryBackground); }
  #state { font-size: 0.85em; opacity: 0.8; padding: 0 12px 6px; }
  .empty { opacity: 0.7; }
  #commands { list-style: none; margin: 0 12px; padding: 2px 0; max-height: 12em; overflow-y: auto;
              border: 1px solid var(--vscode-editorSuggestWidget-border, var(--vscode-panel-border));
              background: var(--vscode-editorSuggestWidget-background, var(--vscode-input-background)); }
  #commands[hidden] { display: none; }
  #commands li { padding: 1px 8px; cursor: pointer; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
  #commands li.active { color: var(--vscode-editorSuggestWidget-selectedForeground, inherit);
                        background: var(--vscode-editorSuggestWidget-selectedBackground, var(--vscode-list-activeSelectionBackground)); }
  #commands .hint, #commands .desc { opacity: 0.75; margin-left: 0.6em; }
</style></head>
<body>
<div id="log" role="log" aria-live="polite"></div>
<div id="pending" aria-live="polite"></div>
<div id="state"></div>
<ul id="commands" role="listbox" aria-label="Slash commands" hidden></ul>
<div id="bar">
  <textarea id="prompt" rows="2" placeholder="Ask Claw (Enter to send, Shift+Enter for a new line)" aria-label="Prompt"></textarea>
  <button id="send" title="Send">Send</button>
  <button id="cancel" class="secondary" title="Cancel the running agent">Cancel</button>
  <button id="new" class="secondary" title="Start a new session with a clean transcript">New</button>
</div>
<script nonce="${nonce}">
(function () {
  const vscode = acquireVsCodeApi();
  const log = document.getElementById('log');
  const pending = document.getElementById('pending');
  const state = document.getElementById('state');
  const prompt = document.getElementById('prompt');
  const menu = document.getElementById('commands');
  let commands = [];
  let shown = [];
  let active = 0;
  const EMPTY = '<p class="empty">No runs yet. Ask Claw below, from the command palette ("Claw: Ask…") or from a lightbulb.</p>';
  log.innerHTML = EMPTY;
  window.addEventListener('message', (event) => {
    const msg = event.data;
    if (msg.type === 'commands') { commands = msg.commands || []; complete(); return; }
    if (msg.type !== 'state') { return; }
    const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 20;
    // Re-rendering must not fold what the user unfolded.
    const open = new Set(Array.from(log.querySelectorAll('details[open][data-key]')).map((d) => d.dataset.key));
    log.innerHTML = msg.empty ? EMPTY : msg.html;
    for (const d of log.querySelectorAll('details[data-key]')) { if (open.has(d.dataset.key)) { d.open = true; } }
    pending.innerHTML = msg.pending;
    state.textContent = msg.state;
    if (atBottom) { log.scrollTop = log.scrollHeight; }
  });
  document.addEventListener('click', (e) => {
    const target = e.target instanceof Element ? e.target.closest('[data-action]') : null;
    if (target && target.dataset.action === 'showReview') {
      vscode.postMessage({ type: 'showReview', changeId: target.dataset.changeId });
    }
  });
  // Slash-command completion: '/' and the start of a name lists the commands; Tab / Enter fills
  // '/name ' (the argument hint then shows); Escape closes the list.
  function row(command, hintOnly) {
    const li = document.createElement('li');
    li.setAttribute('role', 'option');
    li.append('/' + command.name);
    if (command.argumentHint) {
      const hint = document.createElement('span'); hint.className = 'hint'; hint.textContent = command.argumentHint; li.append(hint);
    }
    const desc = document.createElement('span'); desc.className = 'desc'; desc.textContent = command.description; li.append(desc);
    if (!hintOnly) { li.addEventListener('mousedown', (e) => { e.preventDefault(); pick(command); }); }
    return li;
  }
  function complete() {
    const value = prompt.value;
    const typing = /^[/](\\S*)$/.exec(value);
    const given = /^[/](\\S+)\\s/.exec(value);
    shown = typing ? commands.filter((c) => c.name.startsWith(typing[1])) : [];
    const current = !typing && given ? commands.find((c) => c.name === given[1]) : undefined;
    active = Math.min(active, Math.max(shown.length - 1, 0));
    menu.replaceChildren(...(current ? [row(current, true)] : shown.map((c, i) => {
      const li = row(c, false);
      if (i === active) { li.classList.add('active'); li.setAttribute('aria-selected', 'true'); }
      return li;
    })));
    menu.hidden = !shown.length && !current;
  }
  function pick(command) {
    prompt.value = '/' + command.name + ' ';
    active = 0;
    prompt.focus();
    complete();
  }
  prompt.addEventListener('input', () => { active = 0; complete(); });
  function send() {
    const text = prompt.value.trim();
    if (!text) { return; }
    vscode.postMessage({ type: 'prompt', text });
    prompt.value = '';
    complete();
  }
  document.getElementById('send').addEventListener('click', send);
  document.getElementById('cancel').addEventListener('click', () => vscode.postMessage({ type: 'cancel' }));
  document.getElementById('new').addEventListener('click', () => vscode.postMessage({ type: 'newSession' }));
  prompt.addEventListener('keydown', (e) => {
    if (shown.length && !menu.hidden) {
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault();
        active = (active + (e.key === 'ArrowDown' ? 1 : shown.length - 1)) % shown.length;
        complete();
        return;
      }
      if (e.key === 'Tab' || (e.key === 'Enter' && !e.shiftKey)) { e.preventDefault(); pick(shown[active]); return; }
      if (e.key === 'Escape') { e.preventDefault(); menu.hidden = true; shown = []; return; }
    }
    if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); send(); }
  });
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
