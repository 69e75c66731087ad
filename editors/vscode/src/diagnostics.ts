/** `claw/diagnostics`: every language server's current diagnostics for the given files, in LSP shape. */
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import type { DiagnosticsResult, UrisParams } from './protocol';

export async function handleDiagnostics(
  client: LanguageClient,
  params: UrisParams,
  token: vscode.CancellationToken,
): Promise<DiagnosticsResult> {
  const items: DiagnosticsResult['items'] = [];
  for (const uri of params.uris ?? []) {
    const diagnostics = vscode.languages.getDiagnostics(client.protocol2CodeConverter.asUri(uri));
    items.push({ uri, diagnostics: await client.code2ProtocolConverter.asDiagnostics(diagnostics, token) });
  }
  return { items };
}
