/** `claw/permission`: a quick pick titled with the tool call's own description, the exact command or path once, and the options. */
import * as vscode from 'vscode';
import type { PermissionOption, PermissionParams, PermissionResult } from './protocol';
import { pickOne } from './quickPick';

const ICONS: Record<PermissionOption['kind'], string> = {
  allow_once: '$(check)',
  allow_always: '$(check-all)',
  reject_once: '$(close)',
  reject_always: '$(circle-slash)',
};

interface Pick extends vscode.QuickPickItem {
  option?: PermissionOption;
  feedback?: boolean;
}

export async function handlePermission(params: PermissionParams, token: vscode.CancellationToken): Promise<PermissionResult> {
  const subject = (params.subject ?? '').trim() || JSON.stringify(params.toolCall?.rawInput ?? {});
  const title = (params.toolCall?.title ?? '').trim() || params.toolCall?.kind || 'a tool';
  // The model's description in the title, the exact command or path once below it: a title that
  // already holds the subject is not followed by it again.
  const showSubject = !title.includes(subject);
  const multiline = subject.includes('\n') || subject.length > 120;
  const items: Pick[] = params.options.map((option, i) => ({
    label: `${ICONS[option.kind] ?? ''} ${option.name}`.trim(),
    option,
    detail: i === 0 && showSubject && multiline ? subject : undefined,
  }));
  const reject = params.options.find((o) => o.kind === 'reject_once');
  if (reject) {
    items.push({ label: '$(comment) Reject and tell Claw what to do instead…', option: reject, feedback: true });
  }
  const chosen = await pickOne(
    items,
    {
      title: `Claw asks permission: ${title}`,
      placeholder: showSubject && !multiline ? subject : 'Allow this?',
      matchOnDetail: true,
    },
    token,
  );
  if (!chosen?.option) {
    return { outcome: { outcome: 'cancelled' } };
  }
  const result: PermissionResult = { outcome: { outcome: 'selected', optionId: chosen.option.optionId } };
  if (chosen.feedback) {
    const feedback = await vscode.window.showInputBox({
      title: 'Claw: rejected',
      prompt: `Tell Claw what to do instead of: ${subject}`,
      ignoreFocusOut: true,
    });
    if (feedback) {
      result.feedback = feedback;
    }
  }
  return result;
}
