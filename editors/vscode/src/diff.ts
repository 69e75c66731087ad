/**
 * Line diffs without VS Code: a Myers diff of two line lists, unified-diff text for the transcript,
 * the hunks of a review (`claw/review` sends unified-diff hunks) split into their changed blocks, and a
 * line mapper that carries line numbers from one version of a text to another.
 */

/** One line of a diff: kept (' '), removed ('-') or added ('+'). */
export interface DiffLine {
  tag: ' ' | '-' | '+';
  text: string;
}

/** The lines of a text without their line breaks ('a\nb\n' -> ['a', 'b']; '' -> []). */
export function textLines(text: string): string[] {
  if (!text) {
    return [];
  }
  const lines = text.split(/\r\n|\r|\n/);
  if (lines[lines.length - 1] === '') {
    lines.pop();
  }
  return lines;
}

/** Beyond this many differences the middle is shown as removed then added (no search). */
const MAX_EDIT_DISTANCE = 1000;

/** The diff turning `a` into `b` (Myers' O(ND) algorithm after trimming the common ends). */
export function diffLines(a: readonly string[], b: readonly string[]): DiffLine[] {
  let prefix = 0;
  while (prefix < a.length && prefix < b.length && a[prefix] === b[prefix]) {
    prefix++;
  }
  let suffix = 0;
  while (suffix < a.length - prefix && suffix < b.length - prefix && a[a.length - 1 - suffix] === b[b.length - 1 - suffix]) {
    suffix++;
  }
  const out: DiffLine[] = a.slice(0, prefix).map((text) => ({ tag: ' ', text }));
  out.push(...middle(a.slice(prefix, a.length - suffix), b.slice(prefix, b.length - suffix)));
  out.push(...a.slice(a.length - suffix).map((text): DiffLine => ({ tag: ' ', text })));
  return out;
}

function middle(a: readonly string[], b: readonly string[]): DiffLine[] {
  const n = a.length;
  const m = b.length;
  const fallback = (): DiffLine[] => [
    ...a.map((text): DiffLine => ({ tag: '-', text })),
    ...b.map((text): DiffLine => ({ tag: '+', text })),
  ];
  if (n === 0 || m === 0) {
    return fallback();
  }
  const max = Math.min(n + m, MAX_EDIT_DISTANCE);
  const offset = max;
  let v = new Int32Array(2 * max + 2);
  const trace: Int32Array[] = [];
  for (let d = 0; d <= max; d++) {
    trace.push(v.slice());
    const next = v.slice();
    for (let k = -d; k <= d; k += 2) {
      let x: number;
      if (k === -d || (k !== d && v[offset + k - 1] < v[offset + k + 1])) {
        x = v[offset + k + 1];
      } else {
        x = v[offset + k - 1] + 1;
      }
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x++;
        y++;
      }
      next[offset + k] = x;
      if (x >= n && y >= m) {
        return backtrack(trace, a, b, d, offset);
      }
    }
    v = next;
  }
  return fallback();
}

function backtrack(
  trace: Int32Array[],
  a: readonly string[],
  b: readonly string[],
  depth: number,
  offset: number,
): DiffLine[] {
  const out: DiffLine[] = [];
  let x = a.length;
  let y = b.length;
  for (let d = depth; d > 0; d--) {
    const v = trace[d];
    const k = x - y;
    const down = k === -d || (k !== d && v[offset + k - 1] < v[offset + k + 1]);
    const prevK = down ? k + 1 : k - 1;
    const prevX = v[offset + prevK];
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) {
      out.push({ tag: ' ', text: a[--x] });
      y--;
    }
    if (down) {
      out.push({ tag: '+', text: b[--y] });
    } else {
      out.push({ tag: '-', text: a[--x] });
    }
  }
  while (x > 0 && y > 0) {
    out.push({ tag: ' ', text: a[--x] });
    y--;
  }
  return out.reverse();
}

/** `old` -> `new` as unified-diff hunks (`@@ -a,b +c,d @@` headers, `context` lines around changes). */
export function unifiedDiff(oldText: string, newText: string, context = 3): string {
  const lines = diffLines(textLines(oldText), textLines(newText));
  const changed = lines.map((l, i) => (l.tag === ' ' ? -1 : i)).filter((i) => i >= 0);
  if (!changed.length) {
    return '';
  }
  const groups: [number, number][] = [];
  for (const i of changed) {
    const last = groups[groups.length - 1];
    if (last && i - last[1] <= 2 * context + 1) {
      last[1] = i;
    } else {
      groups.push([i, i]);
    }
  }
  const out: string[] = [];
  // Line numbers before each diff line.
  const oldAt: number[] = [];
  const newAt: number[] = [];
  let o = 0;
  let n = 0;
  for (const l of lines) {
    oldAt.push(o);
    newAt.push(n);
    if (l.tag !== '+') {
      o++;
    }
    if (l.tag !== '-') {
      n++;
    }
  }
  for (const [first, lastChanged] of groups) {
    const from = Math.max(0, first - context);
    const to = Math.min(lines.length - 1, lastChanged + context);
    const body = lines.slice(from, to + 1);
    const oldCount = body.filter((l) => l.tag !== '+').length;
    const newCount = body.filter((l) => l.tag !== '-').length;
    const oldStart = oldCount ? oldAt[from] + 1 : oldAt[from];
    const newStart = newCount ? newAt[from] + 1 : newAt[from];
    out.push(`@@ -${oldStart},${oldCount} +${newStart},${newCount} @@`);
    out.push(...body.map((l) => l.tag + l.text));
  }
  return out.join('\n') + '\n';
}

/** One changed block of a hunk: removed lines, then the lines added in their place. */
export interface HunkBlock {
  /** 0-based line of the old text where the block starts (its first removed line, or the insertion point). */
  oldLine: number;
  /** 0-based line of the new text where the block starts (its first added line, or where the removal was). */
  newLine: number;
  removed: string[];
  added: string[];
}

/** What `claw/review` says about one hunk (1-based lines as in a unified diff). */
export interface HunkShape {
  oldStart: number;
  oldLines: number;
  newStart: number;
  newLines: number;
  diff: string;
}

/** The changed blocks of a unified-diff hunk (context lines skipped, `\ No newline` markers ignored). */
export function hunkBlocks(hunk: HunkShape): HunkBlock[] {
  let oldLine = hunk.oldLines === 0 ? hunk.oldStart : hunk.oldStart - 1;
  let newLine = hunk.newLines === 0 ? hunk.newStart : hunk.newStart - 1;
  const blocks: HunkBlock[] = [];
  let current: HunkBlock | undefined;
  const lines = hunk.diff.split('\n');
  if (lines[lines.length - 1] === '') {
    lines.pop();
  }
  for (const raw of lines) {
    const tag = raw[0];
    const text = raw.slice(1).replace(/\r$/, '');
    if (tag === '\\') {
      continue;
    }
    if (tag === '-' || tag === '+') {
      if (!current || (tag === '-' && current.added.length)) {
        current = { oldLine, newLine, removed: [], added: [] };
        blocks.push(current);
      }
      if (tag === '-') {
        current.removed.push(text);
        oldLine++;
      } else {
        current.added.push(text);
        newLine++;
      }
      continue;
    }
    current = undefined;
    oldLine++;
    newLine++;
  }
  return blocks;
}

/**
 * Maps 0-based line numbers of `from` to `to`, assuming one changed region between the common first
 * and last lines: lines before it keep their number, lines after it move by the length difference,
 * lines inside it go to its start.
 */
export function lineMapper(from: readonly string[], to: readonly string[]): (line: number) => number {
  let prefix = 0;
  while (prefix < from.length && prefix < to.length && from[prefix] === to[prefix]) {
    prefix++;
  }
  let suffix = 0;
  while (
    suffix < from.length - prefix &&
    suffix < to.length - prefix &&
    from[from.length - 1 - suffix] === to[to.length - 1 - suffix]
  ) {
    suffix++;
  }
  const delta = to.length - from.length;
  return (line) => {
    if (line < prefix) {
      return line;
    }
    if (line >= from.length - suffix) {
      return line + delta;
    }
    return prefix;
  };
}
