// A stand-in for the Python extension (ms-python.python), which cannot be installed here (it is
// on the VS Code Marketplace and Open VSX only). It exports the part of its API claw uses, the
// `environments` API: the selected interpreter is the path written in `.standin-python` at the
// workspace's root; writing another path there fires onDidChangeActiveEnvironmentPath, as
// selecting another interpreter in the real extension does.
'use strict';
const fs = require('fs');
const path = require('path');
const vscode = require('vscode');

function activate(context) {
  const folder = vscode.workspace.workspaceFolders && vscode.workspace.workspaceFolders[0];
  const file = folder ? path.join(folder.uri.fsPath, '.standin-python') : undefined;
  const read = () => {
    try {
      return fs.readFileSync(file, 'utf8').trim();
    } catch {
      return '';
    }
  };
  const emitter = new vscode.EventEmitter();
  let current = read();
  if (file) {
    const watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(folder, '.standin-python'));
    const changed = () => {
      const next = read();
      if (next && next !== current) {
        current = next;
        emitter.fire({ id: next, path: next, resource: folder.uri });
      }
    };
    watcher.onDidChange(changed);
    watcher.onDidCreate(changed);
    context.subscriptions.push(watcher, emitter);
  }
  return {
    environments: {
      getActiveEnvironmentPath: () => ({ id: current, path: current }),
      resolveEnvironment: async (env) => {
        const p = typeof env === 'string' ? env : env.path;
        return p ? { id: p, path: p, executable: { uri: vscode.Uri.file(p) } } : undefined;
      },
      onDidChangeActiveEnvironmentPath: emitter.event,
    },
  };
}

module.exports = { activate, deactivate: () => undefined };
