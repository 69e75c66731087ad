/** The status bar item: off (untrusted) / starting / idle / running, with the model and the session cost. */
import * as vscode from 'vscode';
import type { RunTracker } from './runs';

export type ServerState = 'untrusted' | 'starting' | 'ready' | 'failed' | 'stopped';

export class StatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('claw.status', vscode.StatusBarAlignment.Right, 100);
  private state: ServerState = 'stopped';
  private detail = '';
  private readonly subscription: vscode.Disposable;

  constructor(private readonly tracker: RunTracker) {
    this.item.name = 'Claw';
    this.subscription = tracker.onDidChange(() => this.render());
    this.render();
    this.item.show();
  }

  /** Sets the server's state; `detail` says why for `failed` / `untrusted`, or where the server came from. */
  setState(state: ServerState, detail = ''): void {
    this.state = state;
    this.detail = detail;
    this.render();
  }

  private render(): void {
    const status = this.tracker.status;
    const model = status?.model;
    const cost = this.tracker.sessionCostUsd;
    const costText = typeof cost === 'number' ? `$${cost.toFixed(cost < 1 ? 4 : 2)}` : undefined;
    const running = this.tracker.active.size;
    const tooltip = new vscode.MarkdownString(undefined, true);
    tooltip.isTrusted = false;
    this.item.backgroundColor = undefined;
    switch (this.state) {
      case 'untrusted':
        this.item.text = '$(shield) Claw: off (untrusted workspace)';
        tooltip.appendMarkdown('The agent is off because this workspace is not trusted.\n\nClick to manage workspace trust.');
        this.item.command = 'workbench.trust.manage';
        break;
      case 'starting':
        this.item.text = '$(loading~spin) Claw: starting';
        tooltip.appendMarkdown(`Starting claw-lsp (${this.detail})`);
        this.item.command = 'claw.vscode.showOutput';
        break;
      case 'failed':
        this.item.text = '$(error) Claw: server failed';
        this.item.backgroundColor = new vscode.ThemeColor('statusBarItem.errorBackground');
        tooltip.appendMarkdown(`claw-lsp did not start: ${this.detail}\n\nClick to see the output.`);
        this.item.command = 'claw.vscode.showOutput';
        break;
      case 'stopped':
        this.item.text = '$(circle-slash) Claw: stopped';
        tooltip.appendMarkdown('The claw-lsp server is not running. Click to restart it.');
        this.item.command = 'claw.vscode.restartServer';
        break;
      case 'ready': {
        const parts = [running ? `$(sync~spin) Claw: running${running > 1 ? ` (${running})` : ''}` : '$(sparkle) Claw: idle'];
        if (model) {
          parts.push(model);
        }
        if (status?.permissionMode && status.permissionMode !== 'default') {
          parts.push(status.permissionMode);
        }
        if (costText) {
          parts.push(costText);
        }
        this.item.text = parts.join(' · ');
        tooltip.appendMarkdown(
          [
            `**Claw** ${running ? `— ${running} run(s) in progress` : '— idle'}`,
            `- model: ${model ?? 'unknown'} (${status?.provider ?? 'unknown provider'})`,
            `- permission mode: ${status?.permissionMode ?? 'unknown'}`,
            `- session: ${this.tracker.sessionId ?? 'none yet'}`,
            `- session cost: ${costText ?? '$0'}`,
            `- server: ${this.detail}`,
            '',
            'Click to show the transcript.',
          ].join('\n'),
        );
        this.item.command = 'claw.vscode.showTranscript';
        break;
      }
    }
    this.item.tooltip = tooltip;
  }

  dispose(): void {
    this.subscription.dispose();
    this.item.dispose();
  }
}
