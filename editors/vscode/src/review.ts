/**
 * `claw/review`: a proposed change reviewed inline, in the editor of the file itself. Each hunk's
 * removed lines get a red background, the lines it would add are summed up at the end of the hunk's
 * line (VS Code has no virtual lines: the full text is in the hover, and in the diff editor), and a
 * CodeLens over it offers Accept · Reject · Reject with feedback… · Diff (Accept all · Reject all on
 * the first open hunk). Nothing in the document changes here: once every hunk is decided the request
 * is answered and the server applies the accepted hunks itself (workspace/applyEdit).
 *
 * A pending review is decided only by an explicit choice: it survives focus changes, quick picks,
 * other editors and closing its editor (`Claw: Show Pending Review` and the status bar item reopen it).
 * The request's cancellation, the end of its run or a server stop clear it.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { type HunkBlock, hunkBlocks, lineMapper, textLines } from './diff';
import type { ReviewHunk, ReviewParams, ReviewResult } from './protocol';

export const REVIEW_SCHEME = 'claw-review';

export const ReviewCommand = {
  show: 'claw.vscode.showReview',
  accept: 'claw.vscode.review.accept',
  reject: 'claw.vscode.review.reject',
  rejectWithFeedback: 'claw.vscode.review.rejectWithFeedback',
  acceptAll: 'claw.vscode.review.acceptAll',
  rejectAll: 'claw.vscode.review.rejectAll',
  undo: 'claw.vscode.review.undo',
  diff: 'claw.vscode.review.diff',
} as const;

/** The context key that is true while the active editor's document has a pending review. */
const CONTEXT_KEY = 'claw.reviewPending';

type HunkState = 'open' | 'accepted' | 'rejected';

/** A changed block of a hunk, at its current lines in the document (0-based). */
interface TrackedBlock extends HunkBlock {
  /** First removed line, or the line the added lines go before. */
  start: number;
  /** Last removed line (start - 1 when nothing is removed). */
  last: number;
}

class HunkView {
  state: HunkState = 'open';
  feedback: string | undefined;
  /** The user edited lines this hunk changes since it was proposed. */
  touched = false;
  readonly blocks: TrackedBlock[];
  readonly added: number;
  readonly removed: number;

  constructor(readonly hunk: ReviewHunk) {
    const blocks = hunkBlocks(hunk);
    this.blocks = blocks.map((b) => ({ ...b, start: b.oldLine, last: b.oldLine + b.removed.length - 1 }));
    this.added = blocks.reduce((n, b) => n + b.added.length, 0);
    this.removed = blocks.reduce((n, b) => n + b.removed.length, 0);
  }

  /** The line the hunk's CodeLens sits on. */
  get anchor(): number {
    return this.blocks[0]?.start ?? Math.max(0, this.hunk.oldStart - 1);
  }

  /** The first and last document lines the hunk touches. */
  get span(): [number, number] {
    const first = this.anchor;
    const last = Math.max(first, ...this.blocks.map((b) => b.last));
    return [first, last];
  }
}

/** One pending review, as the transcript and the tests see it. */
export interface ReviewSummary {
  changeId: string;
  runId: string;
  title: string;
  uri: string;
  path: string;
  kind: ReviewParams['kind'];
  total: number;
  open: number;
  hunks: { index: number; state: HunkState; line: number; feedback?: string; touched: boolean }[];
}

/** A review that ended: what was decided (or that it was cancelled), for the transcript. */
export interface ReviewRecord {
  changeId: string;
  runId: string;
  title: string;
  path: string;
  result: ReviewResult;
  cancelled: boolean;
  hunks: { index: number; header: string; diff: string; state: HunkState; feedback?: string }[];
}

interface CommandArgs {
  changeId?: string;
  hunk?: number;
}

class PendingReview {
  readonly target: vscode.Uri;
  readonly oldUri: vscode.Uri;
  readonly newUri: vscode.Uri;
  readonly hunks: HunkView[];
  /** The document text the hunks' lines refer to. */
  trackedText: string;
  /** Shown as the proposed text itself (a file to be created that does not exist yet). */
  virtual = false;
  /** Feedback for the review as a whole (its hunks' feedback is kept on them). */
  feedback: string[] = [];
  /** For a review without hunks (e.g. a rename): the decision on the whole change. */
  whole: HunkState = 'open';
  done = false;

  constructor(
    readonly params: ReviewParams,
    readonly name: string,
    readonly finish: (result: ReviewResult, cancelled: boolean) => void,
  ) {
    this.target = vscode.Uri.parse(params.uri);
    const base = path.posix.basename(this.target.path) || 'file';
    this.oldUri = vscode.Uri.from({ scheme: REVIEW_SCHEME, path: `/${params.changeId}/before/${base}` });
    this.newUri = vscode.Uri.from({ scheme: REVIEW_SCHEME, path: `/${params.changeId}/after/${base}` });
    this.hunks = (params.hunks ?? []).map((h) => new HunkView(h));
    this.trackedText = params.oldText ?? '';
  }

  get changeId(): string {
    return this.params.changeId;
  }

  /** The document the inline review is shown in. */
  get displayUri(): vscode.Uri {
    return this.virtual ? this.newUri : this.target;
  }

  get openHunks(): HunkView[] {
    return this.hunks.filter((h) => h.state === 'open');
  }

  /** How many decisions are still missing (a review without hunks counts as one). */
  get openCount(): number {
    return this.hunks.length ? this.openHunks.length : this.whole === 'open' ? 1 : 0;
  }

  /** The answer once every hunk is decided. */
  result(): ReviewResult {
    const feedback = [...this.feedback];
    const many = this.hunks.length > 1;
    for (const h of this.hunks) {
      if (h.feedback) {
        feedback.push(many ? `Hunk ${h.hunk.index + 1}: ${h.feedback}` : h.feedback);
      }
    }
    const text = feedback.join('\n');
    const withFeedback = (r: ReviewResult): ReviewResult => (text ? { ...r, feedback: text } : r);
    if (!this.hunks.length) {
      return withFeedback({ decision: this.whole === 'accepted' ? 'accept' : 'reject' });
    }
    const accepted = this.hunks.filter((h) => h.state === 'accepted').map((h) => h.hunk.index);
    if (accepted.length === this.hunks.length) {
      return withFeedback({ decision: 'accept', acceptedHunks: accepted });
    }
    if (!accepted.length) {
      return withFeedback({ decision: 'reject' });
    }
    return withFeedback({ decision: 'partial', acceptedHunks: accepted });
  }

  /** Moves the hunks' lines from the text they refer to onto `text` (when the document differs). */
  remapTo(text: string): void {
    if (text === this.trackedText) {
      return;
    }
    const map = lineMapper(textLines(this.trackedText), textLines(text));
    for (const h of this.hunks) {
      for (const b of h.blocks) {
        const length = b.last - b.start;
        b.start = map(b.start);
        b.last = b.start + length;
      }
    }
    this.trackedText = text;
  }

  /** Follows the user's typing: every change moves the lines after it. */
  follow(event: vscode.TextDocumentChangeEvent): void {
    // Later changes first: each one leaves the lines before it where they were.
    const changes = [...event.contentChanges].sort((a, b) => b.rangeOffset - a.rangeOffset);
    for (const change of changes) {
      for (const h of this.hunks) {
        for (const b of h.blocks) {
          if (!b.removed.length) {
            b.start = shiftLine(b.start, change);
            b.last = b.start - 1;
            continue;
          }
          if (overlaps(change, b.start, b.last)) {
            h.touched = true;
          }
          const start = shiftLine(b.start, change);
          b.last = Math.max(start, shiftLine(b.last, change));
          b.start = start;
        }
      }
    }
    this.trackedText = event.document.getText();
  }
}

function newlines(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      n++;
    }
  }
  return n;
}

/** Where the start of line `line` is after `change` (a line start inside a replaced range goes to its start). */
function shiftLine(line: number, change: vscode.TextDocumentContentChangeEvent): number {
  const s = change.range.start;
  const e = change.range.end;
  if (line < s.line || (line === s.line && s.character > 0)) {
    return line;
  }
  const delta = newlines(change.text) - (e.line - s.line);
  if (line > e.line || (line === e.line && e.character === 0)) {
    return line + delta;
  }
  return s.line + (s.character > 0 ? 1 : 0);
}

/** Whether `change` edits any of the lines first..last (typing a new line just before them does not). */
function overlaps(change: vscode.TextDocumentContentChangeEvent, first: number, last: number): boolean {
  const s = change.range.start;
  const e = change.range.end;
  if (e.line < first || s.line > last) {
    return false;
  }
  const insertionAtStart = change.range.isEmpty && s.character === 0 && s.line === first && change.text.endsWith('\n');
  const beforeStart = e.line === first && e.character === 0 && s.line < first;
  return !insertionAtStart && !beforeStart;
}

/** A code fence longer than any backtick run in `text`. */
function fence(text: string): string {
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  return '`'.repeat(Math.max(3, longest + 1));
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function preview(lines: string[]): string {
  const first = lines.find((l) => l.trim()) ?? lines[0] ?? '';
  let text = first.trim();
  if (text.length > 90) {
    text = `${text.slice(0, 89)}…`;
  }
  return lines.length > 1 ? `${text}  (+${plural(lines.length, 'line')})` : text;
}

export class ReviewController implements vscode.CodeLensProvider, vscode.Disposable {
  private readonly reviews = new Map<string, PendingReview>();
  private readonly contents = new Map<string, string>();
  private readonly subscriptions: vscode.Disposable[] = [];
  private readonly changeEmitter = new vscode.EventEmitter<void>();
  private readonly recordEmitter = new vscode.EventEmitter<ReviewRecord>();
  private readonly lensEmitter = new vscode.EventEmitter<void>();
  private readonly statusItem = vscode.window.createStatusBarItem('claw.review', vscode.StatusBarAlignment.Left, 1000);
  private readonly removedLine = vscode.window.createTextEditorDecorationType({
    isWholeLine: true,
    backgroundColor: new vscode.ThemeColor('diffEditor.removedLineBackground'),
    borderColor: new vscode.ThemeColor('diffEditorGutter.removedLineBackground'),
    borderStyle: 'solid',
    borderWidth: '0 0 0 3px',
    overviewRulerColor: new vscode.ThemeColor('editorOverviewRuler.deletedForeground'),
    overviewRulerLane: vscode.OverviewRulerLane.Left,
  });
  private readonly addedLine = vscode.window.createTextEditorDecorationType({
    isWholeLine: true,
    backgroundColor: new vscode.ThemeColor('diffEditor.insertedLineBackground'),
    overviewRulerColor: new vscode.ThemeColor('editorOverviewRuler.addedForeground'),
    overviewRulerLane: vscode.OverviewRulerLane.Left,
  });
  private readonly addedSummary = vscode.window.createTextEditorDecorationType({
    after: {
      margin: '0 0 0 2em',
      fontStyle: 'italic',
      color: new vscode.ThemeColor('gitDecoration.addedResourceForeground'),
      backgroundColor: new vscode.ThemeColor('diffEditor.insertedLineBackground'),
    },
  });
  /** The line after which a hunk adds lines (and removes none): a dashed green line under it. */
  private readonly insertionPoint = vscode.window.createTextEditorDecorationType({
    isWholeLine: true,
    borderColor: new vscode.ThemeColor('editorGutter.addedBackground'),
    borderStyle: 'dashed',
    borderWidth: '0 0 2px 0',
    overviewRulerColor: new vscode.ThemeColor('editorOverviewRuler.addedForeground'),
    overviewRulerLane: vscode.OverviewRulerLane.Left,
  });
  private readonly decidedSummary = vscode.window.createTextEditorDecorationType({
    after: { margin: '0 0 0 2em', fontStyle: 'italic', color: new vscode.ThemeColor('descriptionForeground') },
  });

  /** Fires when a review opens, changes or ends. */
  readonly onDidChange = this.changeEmitter.event;
  /** Fires with the outcome of every review that ended. */
  readonly onDidEnd = this.recordEmitter.event;
  readonly onDidChangeCodeLenses = this.lensEmitter.event;

  constructor(
    private readonly log: vscode.LogOutputChannel,
    private readonly lastEditor: () => vscode.TextEditor | undefined,
  ) {
    this.statusItem.name = 'Claw review';
    this.statusItem.command = ReviewCommand.show;
    this.statusItem.backgroundColor = new vscode.ThemeColor('statusBarItem.warningBackground');
    const run =
      (fn: (args: CommandArgs) => Promise<void> | void) =>
      async (args?: CommandArgs | vscode.Uri): Promise<void> => {
        try {
          // From a lens: {changeId, hunk}; from the editor title bar: the editor's URI.
          await fn(args instanceof vscode.Uri ? this.argsFor(args) : (args ?? {}));
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          this.log.error(`Review: ${message}`);
          void vscode.window.showErrorMessage(`Claw: ${message}`);
        }
      };
    this.subscriptions.push(
      vscode.workspace.registerTextDocumentContentProvider(REVIEW_SCHEME, {
        provideTextDocumentContent: (uri) => this.contents.get(uri.toString()) ?? '',
      }),
      vscode.languages.registerCodeLensProvider([{ scheme: 'file' }, { scheme: 'untitled' }, { scheme: REVIEW_SCHEME }], this),
      vscode.workspace.onDidChangeTextDocument((e) => this.documentChanged(e)),
      vscode.window.onDidChangeVisibleTextEditors(() => this.render()),
      vscode.window.onDidChangeActiveTextEditor(() => this.updateContext()),
      vscode.commands.registerCommand(ReviewCommand.show, run((a) => this.show(a.changeId))),
      vscode.commands.registerCommand(ReviewCommand.accept, run((a) => this.decideAt(a, 'accepted', true))),
      vscode.commands.registerCommand(ReviewCommand.reject, run((a) => this.decideAt(a, 'rejected', true))),
      vscode.commands.registerCommand(ReviewCommand.rejectWithFeedback, run((a) => this.rejectWithFeedback(a))),
      vscode.commands.registerCommand(ReviewCommand.acceptAll, run((a) => this.decideAt(a, 'accepted', false))),
      vscode.commands.registerCommand(ReviewCommand.rejectAll, run((a) => this.decideAt(a, 'rejected', false))),
      vscode.commands.registerCommand(ReviewCommand.undo, run((a) => this.undo(a))),
      vscode.commands.registerCommand(ReviewCommand.diff, run((a) => this.openDiff(a))),
    );
    this.updateStatus();
  }

  /** Shows the change inline and answers once the user decided every hunk (or the request is cancelled). */
  handle(params: ReviewParams, token: vscode.CancellationToken): Promise<ReviewResult> {
    const name = vscode.workspace.asRelativePath(vscode.Uri.parse(params.uri), false);
    return new Promise<ReviewResult>((resolve) => {
      const subscriptions: vscode.Disposable[] = [];
      const review = new PendingReview(params, name, (result, cancelled) => {
        for (const d of subscriptions) {
          d.dispose();
        }
        resolve(result);
        this.ended(review, result, cancelled);
      });
      this.reviews.set(params.changeId, review);
      this.contents.set(review.oldUri.toString(), params.oldText ?? '');
      this.contents.set(review.newUri.toString(), params.newText ?? '');
      subscriptions.push(token.onCancellationRequested(() => this.cancel(review, 'the server cancelled the request')));
      this.log.info(`Review ${params.changeId} of ${name}: ${plural(review.hunks.length, 'hunk')}, pending.`);
      this.changed();
      void this.open(review, false).catch((error: unknown) => {
        this.log.error(`Review ${params.changeId}: could not open ${name}: ${String(error)}`);
      });
    });
  }

  /** The pending reviews, oldest first. */
  list(): ReviewSummary[] {
    return [...this.reviews.values()].map((r) => ({
      changeId: r.changeId,
      runId: r.params.runId,
      title: r.params.title,
      uri: r.params.uri,
      path: r.name,
      kind: r.params.kind,
      total: r.hunks.length,
      open: r.openCount,
      hunks: r.hunks.map((h) => ({
        index: h.hunk.index,
        state: h.state,
        line: h.anchor,
        touched: h.touched,
        ...(h.feedback ? { feedback: h.feedback } : {}),
      })),
    }));
  }

  /** The run ended: its reviews are moot. */
  runEnded(runId: string): void {
    for (const review of [...this.reviews.values()]) {
      if (review.params.runId === runId) {
        this.cancel(review, 'its run ended');
      }
    }
  }

  /** The server stopped: every review is moot. */
  clearAll(): void {
    for (const review of [...this.reviews.values()]) {
      this.cancel(review, 'the server stopped');
    }
  }

  // -- showing

  /** Opens the review's document (and reveals its first open hunk when asked to or when it was not shown). */
  private async open(review: PendingReview, explicit: boolean): Promise<vscode.TextEditor | undefined> {
    if (review.params.kind === 'create' && !(await exists(review.target))) {
      review.virtual = true;
    }
    const uri = review.displayUri;
    const shown = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === uri.toString());
    const doc = await vscode.workspace.openTextDocument(uri);
    if (review.done) {
      return undefined;
    }
    if (!review.virtual) {
      review.remapTo(doc.getText());
    }
    // Keep the user where they are unless nothing else has the focus (or they asked for the review).
    const somethingFocused = vscode.window.tabGroups.activeTabGroup.activeTab !== undefined;
    const editor = await vscode.window.showTextDocument(doc, {
      viewColumn: shown?.viewColumn ?? this.column(),
      preserveFocus: !explicit && somethingFocused,
      preview: false,
    });
    if (review.done) {
      return editor;
    }
    if (explicit || !shown) {
      this.reveal(editor, review);
    }
    this.render();
    return editor;
  }

  /** The editor group for review documents: the user's last text editor's, never the transcript's. */
  private column(): vscode.ViewColumn {
    const last = this.lastEditor();
    if (last?.viewColumn) {
      return last.viewColumn;
    }
    const group = vscode.window.tabGroups.all.find((g) => !g.tabs.some((t) => t.input instanceof vscode.TabInputWebview));
    return group?.viewColumn ?? vscode.ViewColumn.One;
  }

  private reveal(editor: vscode.TextEditor, review: PendingReview): void {
    const hunk = review.openHunks[0] ?? review.hunks[0];
    const line = Math.min(hunk?.anchor ?? 0, Math.max(0, editor.document.lineCount - 1));
    const range = new vscode.Range(line, 0, line, 0);
    editor.revealRange(range, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
    if (editor === vscode.window.activeTextEditor) {
      editor.selection = new vscode.Selection(range.start, range.start);
    }
  }

  /** `Claw: Show Pending Review`: the given review, the only one, or one picked from a list. */
  async show(changeId?: string): Promise<void> {
    let review = changeId ? this.reviews.get(changeId) : undefined;
    if (!review) {
      const all = [...this.reviews.values()];
      if (!all.length) {
        void vscode.window.showInformationMessage('Claw: no review is pending.');
        return;
      }
      if (all.length === 1) {
        review = all[0];
      } else {
        const picked = await vscode.window.showQuickPick(
          all.map((r) => ({
            label: r.name,
            description: r.params.title,
            detail: r.hunks.length ? `${r.openCount} of ${plural(r.hunks.length, 'hunk')} to decide` : 'to decide',
            review: r,
          })),
          { title: 'Claw: pending reviews', placeHolder: 'Which review to show?' },
        );
        review = picked?.review;
      }
    }
    if (review && !review.done) {
      await this.open(review, true);
    }
  }

  private render(): void {
    for (const editor of vscode.window.visibleTextEditors) {
      this.decorate(editor);
    }
    this.lensEmitter.fire();
  }

  private decorate(editor: vscode.TextEditor): void {
    const key = editor.document.uri.toString();
    const removed: vscode.DecorationOptions[] = [];
    const added: vscode.DecorationOptions[] = [];
    const summaries: vscode.DecorationOptions[] = [];
    const decided: vscode.DecorationOptions[] = [];
    const insertions: vscode.DecorationOptions[] = [];
    const last = Math.max(0, editor.document.lineCount - 1);
    const clamp = (line: number): number => Math.min(Math.max(0, line), last);
    for (const review of this.reviews.values()) {
      if (review.displayUri.toString() !== key) {
        continue;
      }
      const total = review.hunks.length;
      for (const h of review.hunks) {
        const hover = this.hover(review, h);
        if (h.state !== 'open') {
          const [, lastLine] = h.span;
          const end = editor.document.lineAt(clamp(lastLine)).range.end;
          const text = h.state === 'accepted' ? '✓ accepted' : `✕ rejected${h.feedback ? `: ${h.feedback}` : ''}`;
          decided.push({
            range: new vscode.Range(end, end),
            renderOptions: { after: { contentText: `  Claw hunk ${h.hunk.index + 1}/${total} ${text} (sent once every hunk is decided)` } },
          });
          continue;
        }
        if (review.virtual) {
          for (const b of h.blocks) {
            if (b.added.length) {
              added.push({ range: new vscode.Range(clamp(b.newLine), 0, clamp(b.newLine + b.added.length - 1), 0), hoverMessage: hover });
            }
          }
          continue;
        }
        for (const b of h.blocks) {
          if (b.removed.length) {
            removed.push({ range: new vscode.Range(clamp(b.start), 0, clamp(b.last), 0), hoverMessage: hover });
          }
          let text: string;
          let line: number;
          if (b.removed.length) {
            line = clamp(b.last);
            text = b.added.length ? `⇢ ${preview(b.added)}` : `✕ ${plural(b.removed.length, 'line')} removed`;
          } else if (b.start > 0) {
            line = clamp(b.start - 1);
            text = `⤵ adds ${preview(b.added)}`;
            insertions.push({ range: new vscode.Range(line, 0, line, 0), hoverMessage: hover });
          } else {
            line = 0;
            text = `⤴ adds above: ${preview(b.added)}`;
          }
          const end = editor.document.lineAt(line).range.end;
          summaries.push({
            range: new vscode.Range(end, end),
            hoverMessage: hover,
            renderOptions: { after: { contentText: `  ${text}  ` } },
          });
        }
      }
    }
    editor.setDecorations(this.removedLine, removed);
    editor.setDecorations(this.addedLine, added);
    editor.setDecorations(this.addedSummary, summaries);
    editor.setDecorations(this.decidedSummary, decided);
    editor.setDecorations(this.insertionPoint, insertions);
  }

  private hover(review: PendingReview, h: HunkView): vscode.MarkdownString {
    const md = new vscode.MarkdownString();
    md.isTrusted = false;
    md.supportHtml = false;
    md.appendMarkdown(`**Claw proposes** (hunk ${h.hunk.index + 1} of ${review.hunks.length}, +${h.added} −${h.removed}): `);
    md.appendText(review.params.title);
    const body = h.hunk.diff.endsWith('\n') ? h.hunk.diff : `${h.hunk.diff}\n`;
    const f = fence(body);
    md.appendMarkdown(`\n\n${f}diff\n${h.hunk.header}\n${body}${f}\n`);
    return md;
  }

  provideCodeLenses(document: vscode.TextDocument): vscode.CodeLens[] {
    const key = document.uri.toString();
    const lenses: vscode.CodeLens[] = [];
    const last = Math.max(0, document.lineCount - 1);
    for (const review of this.reviews.values()) {
      const inline = review.displayUri.toString() === key;
      const proposal = review.newUri.toString() === key; // the diff editor's right side
      if (!inline && !proposal) {
        continue;
      }
      const args = (hunk?: number): CommandArgs[] => [{ changeId: review.changeId, ...(hunk === undefined ? {} : { hunk }) }];
      const lens = (line: number, title: string, command?: string, hunk?: number, tooltip?: string): vscode.CodeLens =>
        new vscode.CodeLens(new vscode.Range(Math.min(line, last), 0, Math.min(line, last), 0), {
          title,
          command: command ?? '',
          arguments: command ? args(hunk) : undefined,
          tooltip,
        });
      if (!review.hunks.length) {
        lenses.push(
          lens(0, 'Accept', ReviewCommand.acceptAll),
          lens(0, 'Reject', ReviewCommand.rejectAll),
          lens(0, 'Reject with feedback…', ReviewCommand.rejectWithFeedback),
          lens(0, 'Diff', ReviewCommand.diff),
          lens(0, `Claw: ${review.params.title}`),
        );
        continue;
      }
      const firstOpen = review.openHunks[0];
      const total = review.hunks.length;
      for (const h of review.hunks) {
        const index = h.hunk.index;
        const line = inline && !review.virtual ? h.anchor : (h.blocks[0]?.newLine ?? Math.max(0, h.hunk.newStart - 1));
        const label = `Claw: hunk ${index + 1} of ${total}, +${h.added} −${h.removed}${h.touched ? ' $(warning) you edited these lines' : ''}`;
        if (h.state !== 'open') {
          lenses.push(
            lens(line, 'Undo', ReviewCommand.undo, index, 'Decide this hunk again'),
            lens(line, `${label} · ${h.state === 'accepted' ? '$(check) accepted' : '$(close) rejected'}`),
          );
          continue;
        }
        // The actions first: a narrow editor cuts the row's end off.
        lenses.push(
          lens(line, 'Accept', ReviewCommand.accept, index, 'Keep this hunk (applied once every hunk is decided)'),
          lens(line, 'Reject', ReviewCommand.reject, index, 'Drop this hunk'),
          lens(line, 'Reject with feedback…', ReviewCommand.rejectWithFeedback, index, 'Drop this hunk and tell Claw why'),
          lens(line, 'Diff', ReviewCommand.diff, index, 'Open the proposed change in the diff editor'),
        );
        if (h === firstOpen) {
          lenses.push(
            lens(line, 'Accept all', ReviewCommand.acceptAll, undefined, 'Accept every hunk still open'),
            lens(line, 'Reject all', ReviewCommand.rejectAll, undefined, 'Reject every hunk still open'),
          );
        }
        lenses.push(lens(line, label));
      }
    }
    return lenses;
  }

  // -- deciding

  /** The review shown in `uri` (the file, or a side of its diff). */
  private argsFor(uri: vscode.Uri): CommandArgs {
    const key = uri.toString();
    const review = [...this.reviews.values()].find((r) =>
      [r.displayUri, r.newUri, r.oldUri].some((u) => u.toString() === key),
    );
    return review ? { changeId: review.changeId } : {};
  }

  /** The review a command means: its argument's, else the one shown in the active editor. */
  private target(args: CommandArgs): PendingReview | undefined {
    if (args.changeId) {
      return this.reviews.get(args.changeId);
    }
    const editor = vscode.window.activeTextEditor;
    const key = editor?.document.uri.toString();
    const here = [...this.reviews.values()].filter((r) => r.displayUri.toString() === key || r.newUri.toString() === key);
    if (here.length) {
      return here[0];
    }
    const all = [...this.reviews.values()];
    return all.length === 1 ? all[0] : undefined;
  }

  /** The hunk a command means: its argument's, else the open hunk at (or nearest to) the cursor. */
  private hunkOf(review: PendingReview, args: CommandArgs): HunkView | undefined {
    if (typeof args.hunk === 'number') {
      return review.hunks.find((h) => h.hunk.index === args.hunk);
    }
    const editor = vscode.window.activeTextEditor;
    const open = review.openHunks;
    if (!editor || editor.document.uri.toString() !== review.displayUri.toString()) {
      return open[0];
    }
    const line = editor.selection.active.line;
    const distance = (h: HunkView): number => {
      const [first, last] = h.span;
      return line < first ? first - line : line > last ? line - last : 0;
    };
    return [...open].sort((a, b) => distance(a) - distance(b))[0];
  }

  private decideAt(args: CommandArgs, state: 'accepted' | 'rejected', oneHunk: boolean, feedback?: string): void {
    const review = this.target(args);
    if (!review || review.done) {
      void vscode.window.showInformationMessage('Claw: no review is pending here.');
      return;
    }
    if (!review.hunks.length) {
      review.whole = state;
      if (feedback) {
        review.feedback.push(feedback);
      }
    } else if (oneHunk) {
      const hunk = this.hunkOf(review, args);
      if (!hunk) {
        return;
      }
      hunk.state = state;
      hunk.feedback = state === 'rejected' ? feedback : undefined;
    } else {
      for (const h of review.openHunks) {
        h.state = state;
      }
      if (feedback) {
        review.feedback.push(feedback);
      }
    }
    this.progress(review);
  }

  private async rejectWithFeedback(args: CommandArgs): Promise<void> {
    const review = this.target(args);
    if (!review || review.done) {
      void vscode.window.showInformationMessage('Claw: no review is pending here.');
      return;
    }
    const hunk = review.hunks.length ? this.hunkOf(review, args) : undefined;
    const which = hunk && review.hunks.length > 1 ? `hunk ${hunk.hunk.index + 1} of ${review.hunks.length} of ` : '';
    const feedback = await vscode.window.showInputBox({
      title: `Claw: reject ${which}${review.name}`,
      prompt: 'What should Claw do instead? (Escape: keep the hunk undecided)',
      placeHolder: 'e.g. use a constant instead of the literal',
      ignoreFocusOut: true,
    });
    if (feedback === undefined || review.done) {
      return;
    }
    this.decideAt({ changeId: review.changeId, hunk: hunk?.hunk.index }, 'rejected', hunk !== undefined, feedback.trim() || undefined);
  }

  private undo(args: CommandArgs): void {
    const review = this.target(args);
    const hunk = review && this.hunkOf(review, args);
    if (review && hunk && !review.done) {
      hunk.state = 'open';
      hunk.feedback = undefined;
      this.changed();
    }
  }

  /** After a decision: answers when nothing is open any more, else shows the rest. */
  private progress(review: PendingReview): void {
    if (review.openCount === 0) {
      review.done = true;
      review.finish(review.result(), false);
      return;
    }
    this.changed();
  }

  private cancel(review: PendingReview, why: string): void {
    if (review.done) {
      return;
    }
    review.done = true;
    this.log.info(`Review ${review.changeId} of ${review.name} cleared: ${why}.`);
    review.finish({ decision: 'reject' }, true);
  }

  private ended(review: PendingReview, result: ReviewResult, cancelled: boolean): void {
    this.reviews.delete(review.changeId);
    if (!cancelled) {
      this.log.info(`Review ${review.changeId} of ${review.name}: ${JSON.stringify(result)}`);
    }
    this.recordEmitter.fire({
      changeId: review.changeId,
      runId: review.params.runId,
      title: review.params.title,
      path: review.name,
      result,
      cancelled,
      hunks: review.hunks.map((h) => ({
        index: h.hunk.index,
        header: h.hunk.header,
        diff: h.hunk.diff,
        state: h.state,
        ...(h.feedback ? { feedback: h.feedback } : {}),
      })),
    });
    this.changed();
    void this.closeTabs(review).finally(() => {
      this.contents.delete(review.oldUri.toString());
      this.contents.delete(review.newUri.toString());
    });
  }

  private changed(): void {
    this.render();
    this.updateStatus();
    this.updateContext();
    this.changeEmitter.fire();
  }

  private updateStatus(): void {
    const all = [...this.reviews.values()];
    if (!all.length) {
      this.statusItem.hide();
      return;
    }
    const open = all.reduce((n, r) => n + r.openCount, 0);
    const hunks = all.some((r) => r.hunks.length);
    this.statusItem.text = `$(diff) Claw: review ${hunks ? plural(open, 'hunk') : plural(open, 'change')}`;
    const tooltip = new vscode.MarkdownString();
    tooltip.appendMarkdown('**Claw is waiting for your review**\n\n');
    for (const r of all) {
      tooltip.appendMarkdown('- ');
      tooltip.appendText(`${r.name}: ${r.params.title} (${r.openCount} to decide)`);
      tooltip.appendMarkdown('\n');
    }
    tooltip.appendMarkdown('\nClick to show it.');
    this.statusItem.tooltip = tooltip;
    this.statusItem.show();
  }

  private updateContext(): void {
    const key = vscode.window.activeTextEditor?.document.uri.toString();
    const pending = [...this.reviews.values()].some((r) => r.displayUri.toString() === key || r.newUri.toString() === key);
    void vscode.commands.executeCommand('setContext', CONTEXT_KEY, pending);
  }

  private documentChanged(event: vscode.TextDocumentChangeEvent): void {
    if (!event.contentChanges.length) {
      return;
    }
    const key = event.document.uri.toString();
    let moved = false;
    for (const review of this.reviews.values()) {
      if (!review.virtual && review.target.toString() === key) {
        review.follow(event);
        moved = true;
      }
    }
    if (moved) {
      this.changed();
    }
  }

  // -- the diff editor

  /** Opens the proposal in the diff editor (old -> proposed), in the file's editor group. */
  private async openDiff(args: CommandArgs): Promise<void> {
    const review = this.target(args);
    if (!review) {
      void vscode.window.showInformationMessage('Claw: no review is pending here.');
      return;
    }
    const key = review.displayUri.toString();
    const shown = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === key);
    const title = `${review.params.title || `${review.params.kind} ${review.name}`} (Claw proposal)`;
    await vscode.commands.executeCommand('vscode.diff', review.oldUri, review.newUri, title, {
      viewColumn: shown?.viewColumn ?? this.column(),
      preview: true,
    });
    const hunk = typeof args.hunk === 'number' ? review.hunks.find((h) => h.hunk.index === args.hunk) : undefined;
    const editor = vscode.window.activeTextEditor;
    if (hunk && editor?.document.uri.toString() === review.newUri.toString()) {
      const line = Math.max(0, hunk.blocks[0]?.newLine ?? hunk.hunk.newStart - 1);
      editor.revealRange(new vscode.Range(line, 0, line, 0), vscode.TextEditorRevealType.InCenterIfOutsideViewport);
    }
  }

  private async closeTabs(review: PendingReview): Promise<void> {
    const mine = (uri: vscode.Uri): boolean => uri.scheme === REVIEW_SCHEME && uri.path.startsWith(`/${review.changeId}/`);
    const tabs = vscode.window.tabGroups.all
      .flatMap((group) => group.tabs)
      .filter(
        (tab) =>
          (tab.input instanceof vscode.TabInputTextDiff && (mine(tab.input.modified) || mine(tab.input.original))) ||
          (tab.input instanceof vscode.TabInputText && mine(tab.input.uri)),
      );
    if (tabs.length) {
      await vscode.window.tabGroups.close(tabs, true);
    }
  }

  dispose(): void {
    this.clearAll();
    for (const s of this.subscriptions) {
      s.dispose();
    }
    for (const d of [this.removedLine, this.addedLine, this.addedSummary, this.decidedSummary, this.insertionPoint, this.statusItem]) {
      d.dispose();
    }
    this.changeEmitter.dispose();
    this.recordEmitter.dispose();
    this.lensEmitter.dispose();
    this.contents.clear();
  }
}

async function exists(uri: vscode.Uri): Promise<boolean> {
  try {
    await vscode.workspace.fs.stat(uri);
    return true;
  } catch {
    return false;
  }
}
