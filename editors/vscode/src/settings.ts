/**
 * Typed `claw.*` settings. Only values the user set explicitly (user, workspace or folder level) are
 * forwarded to the server, so a VS Code default never overrides the project's `.claw/settings.json`.
 */
import * as vscode from 'vscode';

export const SECTION = 'claw';

/** The settings keys the server understands (docs/configuration.md), as VS Code names them under `claw.`. */
const SERVER_KEYS = [
  'provider',
  'model',
  'permissionMode',
  'maxTurns',
  'bashTimeoutMs',
  'autoCompactTokens',
  'permissions.allow',
  'permissions.ask',
  'permissions.deny',
] as const;

export type ServerSettingKey = (typeof SERVER_KEYS)[number];

/** Settings in the server's shape (`permissions` nested), holding only the explicitly set keys. */
export interface ServerSettings {
  provider?: 'anthropic' | 'openai' | 'scripted';
  model?: string;
  permissionMode?: 'default' | 'acceptEdits' | 'plan' | 'bypassPermissions';
  maxTurns?: number;
  bashTimeoutMs?: number;
  autoCompactTokens?: number;
  permissions?: { allow?: string[]; ask?: string[]; deny?: string[] };
}

/** Settings the extension itself uses. */
export interface ExtensionSettings {
  serverPath: string;
  trace: 'off' | 'messages' | 'verbose';
}

function explicitValue<T>(config: vscode.WorkspaceConfiguration, key: string): T | undefined {
  const inspected = config.inspect<T>(key);
  if (!inspected) {
    return undefined;
  }
  return inspected.workspaceFolderValue ?? inspected.workspaceValue ?? inspected.globalValue;
}

/** The server settings the user set, in the server's nested shape. */
export function serverSettings(scope?: vscode.ConfigurationScope): ServerSettings {
  const config = vscode.workspace.getConfiguration(SECTION, scope);
  const out: Record<string, unknown> = {};
  for (const key of SERVER_KEYS) {
    const value = explicitValue<unknown>(config, key);
    if (value === undefined || value === null || value === '') {
      continue;
    }
    const [head, tail] = key.split('.');
    if (tail) {
      const group = (out[head] ??= {}) as Record<string, unknown>;
      group[tail] = value;
    } else {
      out[head] = value;
    }
  }
  return out;
}

/** The extension's own settings, with defaults. */
export function extensionSettings(scope?: vscode.ConfigurationScope): ExtensionSettings {
  const config = vscode.workspace.getConfiguration(SECTION, scope);
  return {
    serverPath: (config.get<string>('serverPath') ?? '').trim(),
    trace: config.get<ExtensionSettings['trace']>('trace.server') ?? 'off',
  };
}
