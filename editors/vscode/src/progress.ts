/**
 * Work-done progress as cancellable notifications. vscode-languageclient shows server-created progress
 * in the status bar, where it cannot be cancelled; this feature takes over
 * `window/workDoneProgress/create` so each run is a notification whose Cancel button sends
 * `window/workDoneProgress/cancel` (the server cancels the run).
 */
import * as vscode from 'vscode';
import {
  type ClientCapabilities,
  type FeatureState,
  type LanguageClient,
  type ProgressToken,
  type StaticFeature,
  WorkDoneProgress,
  type WorkDoneProgressBegin,
  WorkDoneProgressCancelNotification,
  WorkDoneProgressCreateRequest,
  type WorkDoneProgressReport,
} from 'vscode-languageclient/node';

class NotificationProgress {
  private progress: vscode.Progress<{ message?: string; increment?: number }> | undefined;
  private resolve: (() => void) | undefined;
  private ended = false;
  private percentage = 0;
  private pending: WorkDoneProgressBegin | WorkDoneProgressReport | undefined;
  private readonly listener: vscode.Disposable;

  constructor(
    private readonly client: LanguageClient,
    private readonly token: ProgressToken,
    private readonly onDone: (part: NotificationProgress) => void,
  ) {
    this.listener = client.onProgress(WorkDoneProgress.type, token, (value) => {
      switch (value.kind) {
        case 'begin':
          this.begin(value);
          break;
        case 'report':
          this.report(value);
          break;
        case 'end':
          this.done();
          break;
      }
    });
  }

  private begin(params: WorkDoneProgressBegin): void {
    this.pending = params;
    void vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, cancellable: params.cancellable === true, title: params.title },
      (progress, cancellation) => {
        this.progress = progress;
        cancellation.onCancellationRequested(() => {
          void this.client.sendNotification(WorkDoneProgressCancelNotification.type, { token: this.token });
        });
        if (this.pending) {
          this.report(this.pending);
        }
        return new Promise<void>((resolve) => {
          this.resolve = resolve;
          if (this.ended) {
            resolve();
          }
        });
      },
    );
  }

  private report(params: WorkDoneProgressBegin | WorkDoneProgressReport): void {
    if (!this.progress) {
      this.pending = params;
      return;
    }
    let increment: number | undefined;
    if (typeof params.percentage === 'number') {
      increment = Math.max(0, params.percentage - this.percentage);
      this.percentage = Math.max(this.percentage, params.percentage);
    }
    this.progress.report({ message: params.message, increment });
  }

  done(): void {
    this.ended = true;
    this.listener.dispose();
    this.resolve?.();
    this.onDone(this);
  }
}

/** Registered on the client after its built-in progress feature, so its create handler wins. */
export class NotificationProgressFeature implements StaticFeature {
  private readonly parts = new Set<NotificationProgress>();

  constructor(private readonly client: LanguageClient) {}

  getState(): FeatureState {
    return { kind: 'static' };
  }

  fillClientCapabilities(capabilities: ClientCapabilities): void {
    capabilities.window = { ...capabilities.window, workDoneProgress: true };
  }

  initialize(): void {
    this.client.onRequest(WorkDoneProgressCreateRequest.type, ({ token }) => {
      this.parts.add(new NotificationProgress(this.client, token, (part) => this.parts.delete(part)));
    });
  }

  clear(): void {
    for (const part of [...this.parts]) {
      part.done();
    }
    this.parts.clear();
  }
}
