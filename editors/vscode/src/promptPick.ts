/**
 * The prompt input with slash-command completion (the "Run Command" / Copilot Chat pattern): a
 * QuickPick that shows no items for a plain prompt, and the server's slash commands
 * (`claw.commands.list`: built-ins, the user's and the project's commands, skills) once the text
 * starts with `/`, filtered by what follows. Picking `/name` fills `/name ` and shows its argument
 * hint; Enter with no command picked sends the typed text as the prompt.
 */
import * as vscode from 'vscode';
import { ServerCommand, type SlashCommandInfo } from './protocol';
import type { ClawService } from './service';

export interface PromptOptions {
  /** Shown above the input (e.g. "Ask Claw about app.py"). */
  title: string;
  placeholder: string;
}

interface CommandItem extends vscode.QuickPickItem {
  command: SlashCommandInfo;
  /** The typed `/name args` itself: accepting it sends the prompt. */
  send: boolean;
}

const NAME_ONLY = /^\/(\S*)$/;
const WITH_ARGS = /^\/(\S+)\s/;

/** The commands a prompt's text offers: every `/name` the first word starts, or the command
 * being given arguments (one item that sends the prompt). */
export function commandItems(commands: SlashCommandInfo[], value: string): CommandItem[] {
  const typing = NAME_ONLY.exec(value);
  if (typing) {
    return commands
      .filter((c) => c.name.startsWith(typing[1]))
      .map((c) => ({
        label: `/${c.name}`,
        description: c.argumentHint ?? undefined,
        detail: c.description,
        alwaysShow: true,
        command: c,
        send: false,
      }));
  }
  const given = WITH_ARGS.exec(value);
  const command = given ? commands.find((c) => c.name === given[1]) : undefined;
  if (!command) {
    return [];
  }
  const args = value.slice(given![0].length).trim();
  return [
    {
      label: `$(arrow-right) /${command.name}${args ? ' ' + args : ''}`,
      description: args ? undefined : (command.argumentHint ?? undefined),
      detail: `${command.description}. Enter runs it${command.argumentHint ? `; arguments: ${command.argumentHint}` : ''}`,
      alwaysShow: true,
      command,
      send: true,
    },
  ];
}

/** Asks for a prompt; resolves with the text (undefined when dismissed). */
export function askForPrompt(service: ClawService, options: PromptOptions): Promise<string | undefined> {
  const pick = vscode.window.createQuickPick<CommandItem>();
  pick.title = options.title;
  pick.placeholder = options.placeholder;
  pick.ignoreFocusOut = true;
  pick.matchOnDescription = false;
  pick.matchOnDetail = false;
  let commands: SlashCommandInfo[] = [];
  const update = (): void => {
    pick.items = commandItems(commands, pick.value);
  };
  pick.busy = true;
  service
    .execute<{ commands?: SlashCommandInfo[] }>(ServerCommand.commandsList, {})
    .then(
      (result) => {
        commands = result?.commands ?? [];
        update();
      },
      (error: unknown) => service.log.warn(`claw.commands.list failed: ${String(error)}`),
    )
    .finally(() => {
      pick.busy = false;
    });
  return new Promise<string | undefined>((resolve) => {
    let settled = false;
    const done = (value: string | undefined): void => {
      if (!settled) {
        settled = true;
        resolve(value);
        pick.dispose();
      }
    };
    pick.onDidChangeValue(update);
    pick.onDidAccept(() => {
      // The active item of the items shown now (`selectedItems` may still hold an earlier pick).
      const item = pick.activeItems.find((i) => pick.items.includes(i));
      if (item && !item.send) {
        pick.value = `/${item.command.name} `; // the arguments come next
        update();
        return;
      }
      done(pick.value);
    });
    pick.onDidHide(() => done(undefined));
    pick.show();
  });
}
