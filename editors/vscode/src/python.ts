/**
 * The Python that runs the bundled server (the python-tools extension template's way): the
 * interpreter the Python extension selected for the workspace, else a Python 3.11+ on PATH, each
 * kept only when the bundle has packages for its version (bundled/libs/cpXY). The Python
 * extension's interpreter changes are an event the extension restarts the server on.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';

export const PYTHON_EXTENSION = 'ms-python.python';
/** The names looked up on PATH, newest first. */
const PATH_PYTHONS = ['python3.14', 'python3.13', 'python3.12', 'python3.11', 'python3', 'python'];

interface EnvironmentPath {
  id: string;
  path: string;
}

/** The parts of the Python extension's API used here (its `environments` API, 2023+). */
interface PythonApi {
  environments?: {
    getActiveEnvironmentPath(resource?: vscode.Uri): EnvironmentPath | undefined;
    resolveEnvironment(env: EnvironmentPath | string): Promise<{ executable?: { uri?: vscode.Uri } } | undefined>;
    onDidChangeActiveEnvironmentPath?: vscode.Event<unknown>;
  };
  settings?: { getExecutionDetails(resource?: vscode.Uri): { execCommand?: string[] } };
}

export interface FoundPython {
  python: string;
  version: [number, number];
  /** Where it came from, for the log and the status tooltip. */
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

async function pythonApi(): Promise<PythonApi | undefined> {
  const ext = vscode.extensions.getExtension(PYTHON_EXTENSION);
  if (!ext) {
    return undefined;
  }
  try {
    return (await ext.activate()) as PythonApi;
  } catch {
    return undefined;
  }
}

/** The interpreter the Python extension selected for `folder`, if that extension is installed. */
export async function selectedInterpreter(folder: vscode.WorkspaceFolder | undefined): Promise<string | undefined> {
  const api = await pythonApi();
  if (!api) {
    return undefined;
  }
  try {
    const active = api.environments?.getActiveEnvironmentPath(folder?.uri);
    if (active) {
      const resolved = await api.environments?.resolveEnvironment(active);
      return resolved?.executable?.uri?.fsPath ?? active.path;
    }
    return api.settings?.getExecutionDetails(folder?.uri).execCommand?.[0];
  } catch {
    return undefined;
  }
}

/** Calls `listener` when the Python extension's selected interpreter changes (if it is installed). */
export async function onInterpreterChange(listener: () => void): Promise<vscode.Disposable | undefined> {
  const api = await pythonApi();
  return api?.environments?.onDidChangeActiveEnvironmentPath?.(() => listener());
}

/** `python`'s major and minor version, undefined when it does not run. */
export function pythonVersion(python: string): Promise<[number, number] | undefined> {
  return new Promise((resolve) => {
    execFile(python, ['-I', '-c', 'import sys; print(*sys.version_info[:2])'], { timeout: 15_000 }, (error, stdout) => {
      const parts = error ? [] : stdout.trim().split(' ').map(Number);
      resolve(parts.length === 2 && parts.every(Number.isInteger) ? [parts[0], parts[1]] : undefined);
    });
  });
}

/** The Python versions the bundle has packages for ("cp311" → [3, 11]), from bundled/libs. */
export function bundledVersions(libs: string): [number, number][] {
  try {
    return fs
      .readdirSync(libs)
      .map((name) => /^cp(\d)(\d+)$/.exec(name))
      .filter((m): m is RegExpExecArray => m !== null && fs.existsSync(path.join(libs, m[0])))
      .map((m) => [Number(m[1]), Number(m[2])] as [number, number])
      .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  } catch {
    return [];
  }
}

export function versionText(v: [number, number]): string {
  return `${v[0]}.${v[1]}`;
}

/**
 * The first usable Python: the Python extension's interpreter, then PATH's python3.14 … python3.
 * `supported` says which versions the bundle can run; each rejected candidate is logged.
 */
export async function findPython(
  folder: vscode.WorkspaceFolder | undefined,
  supported: [number, number][],
  log: vscode.LogOutputChannel,
): Promise<FoundPython | undefined> {
  const candidates: { python: string; source: string }[] = [];
  const selected = await selectedInterpreter(folder);
  if (selected) {
    candidates.push({ python: selected, source: "the Python extension's interpreter" });
  }
  for (const name of PATH_PYTHONS) {
    const found = findExecutable(name);
    if (found && !candidates.some((c) => c.python === found)) {
      candidates.push({ python: found, source: 'PATH' });
    }
  }
  for (const candidate of candidates) {
    const version = await pythonVersion(candidate.python);
    if (!version) {
      log.info(`Python ${candidate.python} (${candidate.source}) does not run.`);
    } else if (!supported.some((v) => v[0] === version[0] && v[1] === version[1])) {
      log.info(
        `Python ${candidate.python} (${candidate.source}) is ${versionText(version)}; the bundled server runs on ` +
          supported.map(versionText).join(', '),
      );
    } else {
      return { ...candidate, version };
    }
  }
  return undefined;
}
