/** `claw/input`: free text from the user through `showInputBox`. */
import * as vscode from 'vscode';
import type { InputParams, InputResult } from './protocol';

export async function handleInput(params: InputParams, token: vscode.CancellationToken): Promise<InputResult> {
  const value = await vscode.window.showInputBox(
    {
      title: params.title ?? 'Claw',
      prompt: params.prompt,
      placeHolder: params.placeholder ?? undefined,
      value: params.value ?? undefined,
      ignoreFocusOut: true,
    },
    token,
  );
  return { value: value ?? null };
}
