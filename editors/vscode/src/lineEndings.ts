/**
 * VS Code writes every line break a TextEdit inserts with the document's own EOL (the client
 * capability `workspaceEdit.normalizesLineEndings`). A document with no line break yet (an empty
 * file, one line without a newline) has an EOL only by default (`files.eol`), so the server's CRLF
 * text for it would land as LF (or LF text as CRLF). Before such an edit is applied, this switches
 * the document's EOL to the one the inserted text uses. The switch changes no text; when it moves the
 * document's version on, the edit's version follows it (a stale edit stays stale).
 */
import * as vscode from 'vscode';
import type { ApplyWorkspaceEditParams, TextDocumentEdit } from 'vscode-languageclient/node';

function isTextDocumentEdit(change: unknown): change is TextDocumentEdit {
  return typeof change === 'object' && change !== null && 'textDocument' in change && 'edits' in change;
}

/** The line ending every inserted line break uses, or undefined (none, or mixed). */
function insertedEol(edit: TextDocumentEdit): vscode.EndOfLine | undefined {
  let crlf = 0;
  let lf = 0;
  for (const e of edit.edits) {
    const text = 'newText' in e ? e.newText : e.snippet.value;
    const pairs = text.split('\r\n').length - 1;
    crlf += pairs;
    lf += text.split('\n').length - 1 - pairs;
  }
  if (crlf && !lf) {
    return vscode.EndOfLine.CRLF;
  }
  if (lf && !crlf) {
    return vscode.EndOfLine.LF;
  }
  return undefined;
}

/** Adopts the inserted text's line ending in open documents that have no line break yet. */
export async function adoptLineEndings(params: ApplyWorkspaceEditParams): Promise<void> {
  for (const change of params.edit.documentChanges ?? []) {
    if (!isTextDocumentEdit(change)) {
      continue;
    }
    const uri = vscode.Uri.parse(change.textDocument.uri);
    const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
    const eol = insertedEol(change);
    if (!doc || eol === undefined || doc.eol === eol || doc.getText().includes('\n')) {
      continue;
    }
    const before = doc.version;
    const switchEol = new vscode.WorkspaceEdit();
    switchEol.set(doc.uri, [vscode.TextEdit.setEndOfLine(eol)]);
    if ((await vscode.workspace.applyEdit(switchEol)) && change.textDocument.version === before) {
      change.textDocument.version = doc.version;
    }
  }
}
