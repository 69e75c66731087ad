/**
 * The transcript's HTML, made in the extension (no VS Code API here): a small Markdown subset for the
 * agent's text (code spans and fences are literal; `_` never means emphasis, so snake_case and
 * __init__ stay as written; everything is HTML-escaped), tool calls with their status and output,
 * diffs, reviews, plans, usage and the end of each run.
 */
import type { PlanEntry, ReviewResult, ToolStatus, Usage } from './protocol';

export interface ToolItem {
  kind: 'tool';
  runId: string;
  id: string;
  title: string;
  toolKind?: string;
  status: ToolStatus;
  output?: string;
  /** The edits that landed, as unified diffs. */
  diffs: { path: string; diff: string }[];
  /** What the user decided: part of the change, none of it, or the permission. */
  mark?: 'partial' | 'rejected' | 'denied';
  review?: { decision: string; acceptedHunks: number[]; rejectedHunks: number[]; feedback?: string };
  /** The Agent tool call this call belongs to (a subagent's call), shown nested under it. */
  parent?: string;
}

export interface ReviewItem {
  kind: 'review';
  runId: string;
  changeId: string;
  title: string;
  path: string;
  result: ReviewResult;
  cancelled: boolean;
  hunks: { index: number; header: string; diff: string; state: string; feedback?: string }[];
}

export interface RunUsage {
  used?: number;
  size?: number;
  costUsd?: number;
}

/** One rendered block of the transcript. */
export type Item =
  | { kind: 'user'; runId: string; text: string }
  | { kind: 'text' | 'thought'; runId: string; text: string; key: number }
  | ToolItem
  | { kind: 'plan'; runId: string; entries: PlanEntry[] }
  | ReviewItem
  | {
      kind: 'finished';
      runId: string;
      stopReason?: string;
      error?: string | null;
      costUsd?: number;
      usage?: Usage;
      context?: RunUsage;
    };

/** A pending review, as the transcript lists it. */
export interface PendingReviewLine {
  changeId: string;
  path: string;
  title: string;
  total: number;
  open: number;
}

const ICON: Record<string, string> = { pending: '○', in_progress: '◐', completed: '✓', failed: '✗' };
const MARK: Record<NonNullable<ToolItem['mark']>, { icon: string; label: string }> = {
  partial: { icon: '◑', label: 'partially applied' },
  rejected: { icon: '✗', label: 'rejected' },
  denied: { icon: '⊘', label: 'Denied' },
};
const PLAN: Record<string, string> = { pending: '☐', in_progress: '◐', completed: '☑' };

export function esc(value: unknown): string {
  return String(value).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );
}

/** `**strong**` and `*em*` in already escaped text, only where the stars hug words. */
function emphasis(html: string): string {
  const open = '(^|[\\s(\\[{>"\'/-])';
  const close = '(?=$|[\\s.,;:!?)\\]}<"\'/-])';
  return html
    .replace(new RegExp(`${open}\\*\\*([^\\s*](?:[^*]*?[^\\s*])?)\\*\\*${close}`, 'g'), '$1<strong>$2</strong>')
    .replace(new RegExp(`${open}\\*([^\\s*](?:[^*]*?[^\\s*])?)\\*${close}`, 'g'), '$1<em>$2</em>');
}

/** Inline Markdown: code spans (literal), then emphasis outside them. */
export function inline(text: string): string {
  const out: string[] = [];
  const span = /(`+)([^`]|[^`][\s\S]*?[^`])\1(?!`)/g;
  let pos = 0;
  for (let m = span.exec(text); m; m = span.exec(text)) {
    out.push(emphasis(esc(text.slice(pos, m.index))));
    const code = m[2].length > 2 && m[2].startsWith(' ') && m[2].endsWith(' ') ? m[2].slice(1, -1) : m[2];
    out.push(`<code>${esc(code)}</code>`);
    pos = span.lastIndex;
  }
  out.push(emphasis(esc(text.slice(pos))));
  return out.join('');
}

/** A unified diff with its lines coloured. */
export function diffHtml(diff: string): string {
  const lines = diff.replace(/\n$/, '').split('\n');
  const cls = (line: string): string =>
    line.startsWith('@@') ? 'd-hunk' : line.startsWith('+') ? 'd-add' : line.startsWith('-') ? 'd-del' : 'd-ctx';
  return `<pre class="diff">${lines.map((l) => `<span class="${cls(l)}">${esc(l)}</span>`).join('\n')}</pre>`;
}

/** The Markdown subset the agent's text needs: fences, headings, lists, quotes, tables (as text), paragraphs. */
export function markdown(text: string): string {
  const lines = String(text).split(/\r?\n/);
  const out: string[] = [];
  let paragraph: string[] = [];
  let list: 'ul' | 'ol' | undefined;
  const flush = (): void => {
    if (paragraph.length) {
      out.push(`<p>${paragraph.map(inline).join('<br>')}</p>`);
      paragraph = [];
    }
  };
  const endList = (): void => {
    if (list) {
      out.push(`</${list}>`);
      list = undefined;
    }
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const fenceOpen = /^\s{0,3}(`{3,}|~{3,})\s*([^\s`]*)/.exec(line);
    if (fenceOpen) {
      flush();
      endList();
      const marker = fenceOpen[1];
      const lang = fenceOpen[2].toLowerCase();
      const body: string[] = [];
      for (i++; i < lines.length; i++) {
        const closing = /^\s{0,3}(`{3,}|~{3,})\s*$/.exec(lines[i]);
        if (closing && closing[1][0] === marker[0] && closing[1].length >= marker.length) {
          break;
        }
        body.push(lines[i]);
      }
      out.push(lang === 'diff' ? diffHtml(body.join('\n')) : `<pre><code>${esc(body.join('\n'))}</code></pre>`);
      continue;
    }
    const heading = /^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line);
    const bullet = /^\s*[-*+]\s+(.*)$/.exec(line);
    const ordered = /^\s*\d{1,9}[.)]\s+(.*)$/.exec(line);
    if (bullet || ordered) {
      flush();
      const kind = bullet ? 'ul' : 'ol';
      if (list !== kind) {
        endList();
        out.push(`<${kind}>`);
        list = kind;
      }
      out.push(`<li>${inline((bullet ?? ordered)![1])}</li>`);
      continue;
    }
    endList();
    if (heading) {
      flush();
      const level = Math.min(6, heading[1].length + 2);
      out.push(`<h${level}>${inline(heading[2])}</h${level}>`);
    } else if (/^\s*\|.*\|\s*$/.test(line)) {
      flush();
      const table: string[] = [line];
      while (i + 1 < lines.length && /^\s*\|.*\|\s*$/.test(lines[i + 1])) {
        table.push(lines[++i]);
      }
      out.push(`<pre class="table">${esc(table.join('\n'))}</pre>`);
    } else if (/^\s{0,3}>/.test(line)) {
      flush();
      out.push(`<blockquote>${inline(line.replace(/^\s{0,3}>\s?/, ''))}</blockquote>`);
    } else if (!line.trim()) {
      flush();
    } else {
      paragraph.push(line);
    }
  }
  flush();
  endList();
  return out.join('');
}

function n(value: number): string {
  return value.toLocaleString('en-US');
}

function cost(value: number | undefined): string {
  return typeof value === 'number' ? `$${value.toFixed(4)}` : '';
}

/** "1 and 3" from hunk indices (shown 1-based). */
function hunkList(indices: number[]): string {
  const shown = indices.map((i) => String(i + 1));
  return shown.length <= 1 ? shown.join('') : `${shown.slice(0, -1).join(', ')} and ${shown[shown.length - 1]}`;
}

function tool(item: ToolItem): string {
  const mark = item.mark ? MARK[item.mark] : undefined;
  const icon = mark?.icon ?? ICON[item.status] ?? '?';
  const badge = mark ? ` <span class="badge ${item.mark}">${esc(mark.label)}</span>` : '';
  const parts = [
    `<div class="head"><span class="status" title="${esc(item.status)}">${icon}</span> <span class="title">${esc(item.title)}</span>${badge}</div>`,
  ];
  const review = item.review;
  if (review && review.rejectedHunks.length) {
    const noun = review.rejectedHunks.length === 1 ? 'hunk' : 'hunks';
    const feedback = review.feedback ? ` — feedback sent: <q class="feedback">${esc(review.feedback)}</q>` : '';
    parts.push(`<div class="review-note">Rejected ${noun} ${esc(hunkList(review.rejectedHunks))}${feedback}</div>`);
  } else if (review?.feedback) {
    parts.push(`<div class="review-note">Feedback sent: <q class="feedback">${esc(review.feedback)}</q></div>`);
  }
  item.diffs.forEach((d, i) => {
    parts.push(
      `<details data-key="tool-${esc(item.id)}-diff-${i}"><summary>Diff of ${esc(d.path)}</summary>${diffHtml(d.diff || '(no change)')}</details>`,
    );
  });
  if (item.output) {
    parts.push(`<details data-key="tool-${esc(item.id)}-out"><summary>Output</summary><pre class="output">${esc(item.output)}</pre></details>`);
  }
  return (
    `<div class="item tool ${esc(item.status)}${item.mark ? ` ${item.mark}` : ''}${item.parent ? ' nested' : ''}"` +
    ` data-kind="tool" data-id="${esc(item.id)}"${item.parent ? ` data-parent="${esc(item.parent)}"` : ''}` +
    ` data-status="${esc(item.status)}" data-mark="${esc(item.mark ?? '')}">${parts.join('')}</div>`
  );
}

function review(item: ReviewItem): string {
  const rejected = item.hunks.filter((h) => h.state === 'rejected');
  const accepted = item.hunks.filter((h) => h.state === 'accepted');
  let summary: string;
  if (item.cancelled) {
    summary = `Review of ${esc(item.path)} closed without a decision (the run ended)`;
  } else if (!item.hunks.length) {
    summary = `${item.result.decision === 'accept' ? 'Accepted' : 'Rejected'}: ${esc(item.title)}`;
  } else if (item.result.decision === 'accept') {
    summary = `Accepted every hunk of ${esc(item.path)}`;
  } else if (item.result.decision === 'reject') {
    summary = `Rejected every hunk of ${esc(item.path)}`;
  } else {
    summary =
      `Accepted hunk${accepted.length === 1 ? '' : 's'} ${esc(hunkList(accepted.map((h) => h.index)))}, ` +
      `rejected hunk${rejected.length === 1 ? '' : 's'} ${esc(hunkList(rejected.map((h) => h.index)))} of ${esc(item.path)}`;
  }
  const parts = [`<div class="head">${summary}</div>`];
  if (item.result.feedback) {
    parts.push(`<div class="review-note">Feedback sent: <q class="feedback">${esc(item.result.feedback)}</q></div>`);
  }
  if (!item.cancelled && rejected.length) {
    const body = rejected.map((h) => `${h.header}\n${h.diff}`).join('');
    parts.push(`<details data-key="review-${esc(item.changeId)}"><summary>Rejected hunks</summary>${diffHtml(body)}</details>`);
  }
  return `<div class="item review" data-kind="review" data-decision="${esc(item.cancelled ? 'cancelled' : item.result.decision)}">${parts.join('')}</div>`;
}

function finished(item: Extract<Item, { kind: 'finished' }>): string {
  const bits = [esc(item.stopReason || (item.error ? 'error' : 'done'))];
  const usage = item.usage;
  if (usage && (usage.input_tokens || usage.output_tokens)) {
    bits.push(`${n(usage.input_tokens ?? 0)} in / ${n(usage.output_tokens ?? 0)} out tokens`);
  }
  if (item.context?.used && item.context.size) {
    bits.push(`context ${n(item.context.used)} of ${n(item.context.size)}`);
  }
  const price = cost(item.costUsd);
  if (price) {
    bits.push(price);
  }
  const error = item.error ? `<div class="error-text">${esc(item.error)}</div>` : '';
  return `<div class="item finished${item.error ? ' error' : ''}" data-kind="finished">Run finished: ${bits.join(' · ')}${error}</div>`;
}

export function renderItem(item: Item): string {
  switch (item.kind) {
    case 'user':
      return `<div class="item user" data-kind="user">${esc(item.text)}</div>`;
    case 'text':
      return `<div class="item text" data-kind="text">${markdown(item.text)}</div>`;
    case 'thought':
      return `<details class="item thought" data-kind="thought" data-key="thought-${item.key}"><summary>Thinking</summary>${markdown(item.text)}</details>`;
    case 'tool':
      return tool(item);
    case 'plan':
      return (
        '<div class="item plan" data-kind="plan"><strong>Plan</strong><ul>' +
        item.entries.map((e) => `<li data-status="${esc(e.status)}">${PLAN[e.status] ?? '☐'} ${inline(e.content)}</li>`).join('') +
        '</ul></div>'
      );
    case 'review':
      return review(item);
    case 'finished':
      return finished(item);
  }
}

export function renderItems(items: readonly Item[]): string {
  return items.map(renderItem).join('');
}

/** The pending reviews above the prompt box, each with a button that reveals it. */
export function renderPending(reviews: readonly PendingReviewLine[]): string {
  return reviews
    .map((r) => {
      const what = r.total ? `${r.open} of ${r.total} hunk${r.total === 1 ? '' : 's'} to decide` : 'to decide';
      return (
        `<div class="pending-review" data-kind="pending-review" data-change-id="${esc(r.changeId)}">` +
        `<span>Waiting for your review of <strong>${esc(r.path)}</strong> (${what})</span> ` +
        `<button data-action="showReview" data-change-id="${esc(r.changeId)}">Show review</button></div>`
      );
    })
    .join('');
}

/** The line under the log: running or idle, the session, the context and cost so far. */
export function stateLine(running: boolean, sessionId: string | undefined, usage: RunUsage | undefined): string {
  const bits = [running ? 'Running…' : 'Idle.'];
  if (sessionId) {
    bits.push(`Session ${sessionId}`);
  }
  if (usage?.used && usage.size) {
    bits.push(`context ${n(usage.used)} / ${n(usage.size)} tokens`);
  }
  if (typeof usage?.costUsd === 'number') {
    bits.push(`session cost ${cost(usage.costUsd)}`);
  }
  return bits.join(' · ');
}
