/** `claw/saveDocuments`: saves the open documents among the given URIs. */
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import type { SaveResult, UrisParams } from './protocol';

export async function handleSaveDocuments(client: LanguageClient, params: UrisParams): Promise<SaveResult> {
  const wanted = new Set((params.uris ?? []).map((uri) => client.protocol2CodeConverter.asUri(uri).toString()));
  const saved: string[] = [];
  for (const document of vscode.workspace.textDocuments) {
    if (!wanted.has(document.uri.toString())) {
      continue;
    }
    if (!document.isDirty || (await document.save())) {
      saved.push(client.code2ProtocolConverter.asUri(document.uri));
    }
  }
  return { saved };
}
