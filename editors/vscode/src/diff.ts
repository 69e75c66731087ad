import { structuredPatch } from 'diff';

/**
 * Line diffs without VS Code: unified-diff text for the transcript (by jsdiff, the `diff` package),
 * the hunks of a review (`claw/review` sends unified-diff hunks) split into their changed blocks, and a
 * line mapper that carries line numbers from one version of a text to another.
 */

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

/** `old` -> `new` as unified-diff hunks (`@@ -a,b +c,d @@` headers, `context` lines around changes). */
export function unifiedDiff(oldText: string, newText: string, context = 3): string {
  const norm = (text: string): string => text.replace(/\r\n?/g, '\n');
  const patch = structuredPatch('old', 'new', norm(oldText), norm(newText), '', '', { context });
  const out: string[] = [];
  for (const hunk of patch.hunks) {
    out.push(`@@ -${hunk.oldStart},${hunk.oldLines} +${hunk.newStart},${hunk.newLines} @@`);
    out.push(...hunk.lines);
  }
  return out.length ? out.join('\n') + '\n' : '';
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
