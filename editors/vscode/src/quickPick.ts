// One quick pick that resolves with the chosen item, or undefined when dismissed or cancelled.
import * as vscode from 'vscode';

export interface PickOptions {
  title: string;
  placeholder: string;
  matchOnDetail?: boolean;
}

/** Show a quick pick that stays open on focus loss; resolve with the accepted item. */
export function pickOne<T extends vscode.QuickPickItem>(
  items: T[],
  options: PickOptions,
  token: vscode.CancellationToken,
): Promise<T | undefined> {
  const pick = vscode.window.createQuickPick<T>();
  pick.items = items;
  pick.title = options.title;
  pick.placeholder = options.placeholder;
  pick.matchOnDetail = options.matchOnDetail ?? false;
  pick.ignoreFocusOut = true;
  return new Promise<T | undefined>((resolve) => {
    const done = (value: T | undefined): void => {
      resolve(value);
      pick.dispose();
    };
    pick.onDidAccept(() => done(pick.selectedItems[0]));
    pick.onDidHide(() => done(undefined));
    token.onCancellationRequested(() => done(undefined));
    pick.show();
  });
}
