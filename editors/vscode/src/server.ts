/**
 * Finding and starting the `claw-lsp` server: `claw.serverPath`, else the workspace's Python
 * environment (`.venv`, then the Python extension's interpreter), else `PATH`.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import {
  CancellationToken,
  type ConfigurationRequest,
  LanguageClient,
  type LanguageClientOptions,
  type ServerOptions,
  TransportKind,
} from 'vscode-languageclient/node';
import { adoptLineEndings } from './lineEndings';
import { CLIENT_FEATURES } from './protocol';
import { SECTION, extensionSettings, serverSettings } from './settings';

export const CLIENT_ID = 'claw';
const EXE = process.platform === 'win32' ? 'claw-lsp.exe' : 'claw-lsp';
const VENV_BIN = process.platform === 'win32' ? 'Scripts' : 'bin';

export interface ServerCommand {
  command: string;
  args: string[];
  /** Where the command came from, for the log and the status tooltip. */
  source: string;
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function expandHome(p: string): string {
  return p.startsWith('~/') ? path.join(process.env.HOME ?? '', p.slice(2)) : p;
}

/** The interpreter the ms-python extension selected for `folder`, if that extension is installed. */
async function pythonExtensionInterpreter(folder: vscode.WorkspaceFolder | undefined): Promise<string | undefined> {
  const ext = vscode.extensions.getExtension('ms-python.python');
  if (!ext) {
    return undefined;
  }
  try {
    const api = (await ext.activate()) as {
      environments?: { getActiveEnvironmentPath(resource?: vscode.Uri): { path: string } | undefined };
      settings?: { getExecutionDetails(resource?: vscode.Uri): { execCommand?: string[] } };
    };
    const envPath = api.environments?.getActiveEnvironmentPath(folder?.uri)?.path;
    if (envPath) {
      return envPath;
    }
    return api.settings?.getExecutionDetails(folder?.uri).execCommand?.[0];
  } catch {
    return undefined;
  }
}

function canImportClawLsp(python: string): Promise<boolean> {
  return new Promise((resolve) => {
    execFile(python, ['-c', 'import claw_lsp'], { timeout: 10_000 }, (error) => resolve(!error));
  });
}

/** The executable `command` names when it exists: a path as given, a bare name looked up on PATH. */
export function findExecutable(command: string): string | undefined {
  if (command.includes('/') || command.includes(path.sep)) {
    return isExecutable(command) ? command : undefined;
  }
  const exts = process.platform === 'win32' ? ['', ...(process.env.PATHEXT ?? '.EXE;.CMD;.BAT').split(';')] : [''];
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    for (const ext of exts) {
      const candidate = dir && path.join(dir, command + ext);
      if (candidate && isExecutable(candidate)) {
        return candidate;
      }
    }
  }
  return undefined;
}

/** The one notification for a `claw-lsp` that cannot be started, saying how to install it. */
export function missingServerMessage(command: ServerCommand): string {
  const where =
    command.source === 'claw.serverPath'
      ? `claw.serverPath is "${command.command}", which does not exist or is not executable.`
      : command.source === 'PATH'
        ? 'claw-lsp is not in the workspace\'s .venv and not on PATH.'
        : `${command.command} (from ${command.source}) cannot be started.`;
  return (
    `Claw: the claw-lsp server was not found. ${where} Install it with "pip install -e <path of the claw-lsp ` +
    'repository>" (into the workspace\'s .venv, or any Python environment), then put that environment\'s bin ' +
    '(e.g. .venv/bin) on PATH or set claw.serverPath to its claw-lsp.'
  );
}

/**
 * The language client, quiet while it starts: vscode-languageclient shows its own error toast when
 * the server cannot be spawned, and the extension already shows one that says what to do.
 */
class ClawLanguageClient extends LanguageClient {
  quiet = true;

  override error(message: string, data?: unknown, showNotification: boolean | 'force' = true): void {
    super.error(message, data, this.quiet ? false : showNotification);
  }
}

/** Decides which executable to start, logging each candidate it rejects. */
export async function resolveServerCommand(log: vscode.LogOutputChannel): Promise<ServerCommand> {
  const folder = vscode.workspace.workspaceFolders?.[0];
  const configured = extensionSettings(folder).serverPath;
  if (configured) {
    let exe = expandHome(configured);
    if (!path.isAbsolute(exe) && exe.includes(path.sep) && folder) {
      exe = path.join(folder.uri.fsPath, exe);
    }
    return { command: exe, args: [], source: 'claw.serverPath' };
  }
  for (const wf of vscode.workspace.workspaceFolders ?? []) {
    for (const venv of ['.venv', 'venv']) {
      const candidate = path.join(wf.uri.fsPath, venv, VENV_BIN, EXE);
      if (isExecutable(candidate)) {
        return { command: candidate, args: [], source: `workspace ${venv}` };
      }
    }
  }
  const python = await pythonExtensionInterpreter(folder);
  if (python) {
    const sibling = path.join(path.dirname(python), EXE);
    if (isExecutable(sibling)) {
      return { command: sibling, args: [], source: `Python interpreter ${python}` };
    }
    if (await canImportClawLsp(python)) {
      return { command: python, args: ['-m', 'claw_lsp'], source: `Python interpreter ${python}` };
    }
    log.info(`The selected Python interpreter ${python} has no claw_lsp package; trying PATH.`);
  }
  return { command: 'claw-lsp', args: [], source: 'PATH' };
}

/** Answers `workspace/configuration` for section `claw` with the explicitly set settings only. */
const configurationMiddleware: ConfigurationRequest.MiddlewareSignature = async (params, token, next) => {
  const values: unknown[] = params.items.map((item) => {
    const scope = item.scopeUri ? vscode.Uri.parse(item.scopeUri) : undefined;
    return item.section === SECTION ? serverSettings(scope) : null;
  });
  if (params.items.some((item) => item.section !== SECTION)) {
    const others: unknown = await next(params, token);
    if (Array.isArray(others)) {
      const list = others as unknown[];
      params.items.forEach((item, i) => {
        if (item.section !== SECTION) {
          values[i] = list[i];
        }
      });
    }
  }
  return values;
};

/** A language client for `command`, not yet started; its error toasts stay off until `started(client)`. */
export function createClient(command: ServerCommand, log: vscode.LogOutputChannel): LanguageClient {
  const serverOptions: ServerOptions = {
    command: command.command,
    args: command.args,
    transport: TransportKind.stdio,
    options: { env: { ...process.env, PYTHONUNBUFFERED: '1' } },
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [{ scheme: 'file' }, { scheme: 'untitled' }],
    outputChannel: log,
    initializationOptions: () => ({ ...serverSettings(), clientFeatures: CLIENT_FEATURES }),
    // No `synchronize`: its push would send VS Code's type defaults ('' / 0) for unset settings. The
    // server pulls section `claw` (answered below with the settings the user set) and the extension
    // restarts the server when they change.
    middleware: {
      workspace: {
        configuration: configurationMiddleware,
        handleApplyEdit: async (params, next) => {
          await adoptLineEndings(params);
          return next(params, CancellationToken.None);
        },
      },
    },
  };
  return new ClawLanguageClient(CLIENT_ID, 'Claw', serverOptions, clientOptions);
}

/** The client started: from now on its own error toasts (a crash, a failed request) show again. */
export function started(client: LanguageClient): void {
  if (client instanceof ClawLanguageClient) {
    client.quiet = false;
  }
}
