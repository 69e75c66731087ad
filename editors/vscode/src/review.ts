/**
 * `claw/review`: shows a proposed change in VS Code's diff editor (the old and proposed texts are
 * virtual documents) and asks accept all / reject all / pick hunks, with optional feedback.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ReviewHunk, ReviewParams, ReviewResult } from './protocol';
import { pickOne } from './quickPick';

export const REVIEW_SCHEME = 'claw-review';

interface Choice extends vscode.QuickPickItem {
  action: 'accept' | 'reject' | 'pick' | 'feedback';
}

interface HunkPick extends vscode.QuickPickItem {
  hunk: ReviewHunk;
}

export class ReviewController implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly contents = new Map<string, string>();
  private readonly registration: vscode.Disposable;

  constructor() {
    this.registration = vscode.workspace.registerTextDocumentContentProvider(REVIEW_SCHEME, this);
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.contents.get(uri.toString()) ?? '';
  }

  /** Opens the diff, asks for a decision, closes the diff, and answers the server. */
  async handle(params: ReviewParams, token: vscode.CancellationToken): Promise<ReviewResult> {
    const target = vscode.Uri.parse(params.uri);
    const name = path.posix.basename(target.path) || 'file';
    const oldUri = vscode.Uri.from({ scheme: REVIEW_SCHEME, path: `/${params.changeId}/before/${name}` });
    const newUri = vscode.Uri.from({ scheme: REVIEW_SCHEME, path: `/${params.changeId}/after/${name}` });
    this.contents.set(oldUri.toString(), params.oldText ?? '');
    this.contents.set(newUri.toString(), params.newText ?? '');
    const title = `${params.title ?? `${params.kind} ${name}`} (Claw proposal)`;
    try {
      await vscode.commands.executeCommand('vscode.diff', oldUri, newUri, title, { preview: true });
      return await this.decide(params, token);
    } finally {
      await this.closeDiff(newUri);
      this.contents.delete(oldUri.toString());
      this.contents.delete(newUri.toString());
    }
  }

  private async decide(params: ReviewParams, token: vscode.CancellationToken): Promise<ReviewResult> {
    const hunks = params.hunks ?? [];
    const plural = hunks.length === 1 ? '' : 's';
    const choices: Choice[] = [
      { label: '$(check) Accept', description: `all ${hunks.length} hunk${plural}`, action: 'accept' },
      { label: '$(close) Reject', description: 'the whole change', action: 'reject' },
    ];
    if (hunks.length > 1) {
      choices.push({ label: '$(list-selection) Choose hunks…', description: 'accept some, reject the rest', action: 'pick' });
    }
    choices.push({ label: '$(comment) Reject with feedback…', description: 'tell Claw what to do instead', action: 'feedback' });
    const choice = await pickOne(
      choices,
      { title: `Claw: ${params.title ?? params.uri}`, placeholder: 'Review the proposed change' },
      token,
    );
    switch (choice?.action) {
      case 'accept':
        return { decision: 'accept', acceptedHunks: hunks.map((h) => h.index) };
      case 'pick':
        return this.pickHunks(hunks, token);
      case 'feedback': {
        const feedback = await vscode.window.showInputBox(
          { title: 'Claw: rejected', prompt: 'What should Claw do instead?', ignoreFocusOut: true },
          token,
        );
        return feedback ? { decision: 'reject', feedback } : { decision: 'reject' };
      }
      default:
        return { decision: 'reject' };
    }
  }

  private async pickHunks(hunks: ReviewHunk[], token: vscode.CancellationToken): Promise<ReviewResult> {
    const items: HunkPick[] = hunks.map((hunk) => ({
      label: hunk.header,
      detail: hunk.diff.split('\n').filter(Boolean).slice(0, 6).join('  ⏎  '),
      picked: true,
      hunk,
    }));
    const picked = await vscode.window.showQuickPick(
      items,
      { canPickMany: true, title: 'Claw: accept these hunks', ignoreFocusOut: true, matchOnDetail: true },
      token,
    );
    if (!picked || picked.length === 0) {
      return { decision: 'reject' };
    }
    if (picked.length === hunks.length) {
      return { decision: 'accept', acceptedHunks: hunks.map((h) => h.index) };
    }
    return { decision: 'partial', acceptedHunks: picked.map((p) => p.hunk.index) };
  }

  private async closeDiff(newUri: vscode.Uri): Promise<void> {
    const key = newUri.toString();
    const tabs = vscode.window.tabGroups.all
      .flatMap((group) => group.tabs)
      .filter((tab) => tab.input instanceof vscode.TabInputTextDiff && tab.input.modified.toString() === key);
    if (tabs.length) {
      await vscode.window.tabGroups.close(tabs);
    }
  }

  dispose(): void {
    this.registration.dispose();
    this.contents.clear();
  }
}
