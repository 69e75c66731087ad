/**
 * Finding and starting the `claw-lsp` server: `claw.serverPath`, else the server bundled in a
 * platform .vsix (bundled/, run with the Python extension's interpreter or a Python 3.11+ on PATH:
 * src/python.ts), else (the universal .vsix) the workspace's Python environment (`.venv`, then the
 * Python extension's interpreter), else `PATH`.
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
import {
  PYTHON_EXTENSION,
  bundledVersions,
  findExecutable,
  findPython,
  selectedInterpreter,
  versionText,
} from './python';
import { SECTION, extensionSettings, serverSettings } from './settings';

export const CLIENT_ID = 'claw';
const EXE = process.platform === 'win32' ? 'claw-lsp.exe' : 'claw-lsp';
const VENV_BIN = process.platform === 'win32' ? 'Scripts' : 'bin';

export { findExecutable };

export interface ServerCommand {
  command: string;
  args: string[];
  /** Where the command came from, for the log and the status tooltip. */
  source: string;
  /** The server bundled in the extension (restarted when the selected interpreter changes). */
  bundled?: boolean;
}

/** No Python can run the bundled server: `message` says so and how to fix it (shown once). */
export class NoPythonError extends Error {}

/** The bundled server's entry point and packages, when this is a platform .vsix. */
export function bundledServer(): { script: string; libs: string } | undefined {
  const ext = vscode.extensions.getExtension('claw-lsp.claw');
  if (!ext) {
    return undefined;
  }
  const script = path.join(ext.extensionPath, 'bundled', 'tool', 'claw_server.py');
  const libs = path.join(ext.extensionPath, 'bundled', 'libs');
  return fs.existsSync(script) && fs.existsSync(path.join(libs, 'common')) ? { script, libs } : undefined;
}

/** The one message for a platform .vsix without a Python to run its server. */
export function noPythonMessage(supported: [number, number][]): string {
  const versions = supported.map(versionText).join(', ');
  const select = vscode.extensions.getExtension(PYTHON_EXTENSION)
    ? 'select it with "Python: Select Interpreter"'
    : 'make sure python3 is on PATH';
  return (
    `Claw: no Python to run the bundled claw-lsp server (it needs Python ${versions}; none was found as the ` +
    `Python extension's interpreter or on PATH). Install Python 3.12 (python.org, "sudo apt install python3", ` +
    `"brew install python@3.12") and ${select}, or set claw.serverPath to a claw-lsp ` +
    '(e.g. after "uv tool install git+https://github.com/claw-lsp/claw-lsp").'
  );
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

function canImportClawLsp(python: string): Promise<boolean> {
  return new Promise((resolve) => {
    execFile(python, ['-c', 'import claw_lsp'], { timeout: 10_000 }, (error) => resolve(!error));
  });
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
    `Claw: the claw-lsp server was not found. ${where} Install the platform build of the extension ` +
    '(claw-linux-x64.vsix: the server comes inside it), or install the server with ' +
    '"uv tool install git+https://github.com/claw-lsp/claw-lsp" (or pipx install …) and put its bin on PATH ' +
    'or set claw.serverPath to its claw-lsp.'
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
  const bundled = bundledServer();
  if (bundled) {
    const supported = bundledVersions(bundled.libs);
    const found = await findPython(folder, supported, log);
    if (!found) {
      throw new NoPythonError(noPythonMessage(supported));
    }
    return {
      command: found.python,
      // -I: no PYTHONPATH or user site-packages may shadow the bundled packages; -u: unbuffered stdio.
      args: ['-I', '-u', bundled.script],
      source: `bundled server, Python ${versionText(found.version)} from ${found.source}`,
      bundled: true,
    };
  }
  for (const wf of vscode.workspace.workspaceFolders ?? []) {
    for (const venv of ['.venv', 'venv']) {
      const candidate = path.join(wf.uri.fsPath, venv, VENV_BIN, EXE);
      if (isExecutable(candidate)) {
        return { command: candidate, args: [], source: `workspace ${venv}` };
      }
    }
  }
  const python = await selectedInterpreter(folder);
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
