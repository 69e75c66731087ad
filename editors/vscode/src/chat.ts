/**
 * The `@claw` chat participant, registered only where VS Code's chat API exists (code-server may not
 * have it): a request starts a run and its `claw/event`s stream into the chat response.
 */
import * as vscode from 'vscode';
import { type ClawEvent, textOf } from './protocol';
import type { ClawService } from './service';

const PARTICIPANT_ID = 'claw.agent';

/** Registers `@claw` when the API is there; returns undefined otherwise. */
export function registerChatParticipant(service: ClawService): vscode.Disposable | undefined {
  const chat = (vscode as { chat?: typeof vscode.chat }).chat;
  if (!chat || typeof chat.createChatParticipant !== 'function') {
    service.log.info('The chat API is not available here; the transcript panel is the chat view.');
    return undefined;
  }
  try {
    const participant = chat.createChatParticipant(PARTICIPANT_ID, (request, _context, stream, token) =>
      handle(service, request, stream, token),
    );
    participant.iconPath = new vscode.ThemeIcon('sparkle');
    return participant;
  } catch (error) {
    service.log.warn(`Could not register the @claw chat participant: ${String(error)}`);
    return undefined;
  }
}

async function handle(
  service: ClawService,
  request: vscode.ChatRequest,
  stream: vscode.ChatResponseStream,
  token: vscode.CancellationToken,
): Promise<vscode.ChatResult> {
  const editor = service.lastEditor();
  const started = await service.ask({
    prompt: request.prompt,
    uri: editor ? service.client?.code2ProtocolConverter.asUri(editor.document.uri) : undefined,
    range: editor && !editor.selection.isEmpty ? service.client?.code2ProtocolConverter.asRange(editor.selection) : undefined,
    sessionId: service.tracker.sessionId,
  });
  if (!started) {
    return { errorDetails: { message: 'claw-lsp did not start the run; see the Claw output.' } };
  }
  const { runId } = started;
  return new Promise<vscode.ChatResult>((resolve) => {
    const titles = new Map<string, string>();
    let result: vscode.ChatResult = {};
    const apply = (event: ClawEvent): boolean => {
      const update = event.update;
      switch (update.sessionUpdate) {
        case 'agent_message_chunk':
          stream.markdown(textOf(update.content));
          break;
        case 'tool_call':
          titles.set(update.toolCallId, update.title);
          stream.progress(update.title);
          break;
        case 'tool_call_update':
          if (update.status === 'completed' || update.status === 'failed') {
            const title = update.title ?? titles.get(update.toolCallId) ?? update.toolCallId;
            stream.markdown(`\n\n${update.status === 'completed' ? '✓' : '✗'} \`${title}\`\n\n`);
          }
          break;
        case 'plan':
          stream.markdown(
            '\n\n' + update.entries.map((e) => `- [${e.status === 'completed' ? 'x' : ' '}] ${e.content}`).join('\n') + '\n\n',
          );
          break;
        case 'run_finished':
          if (update.error) {
            result = { errorDetails: { message: update.error } };
          }
          return true;
        default:
          break;
      }
      return false;
    };
    for (const event of service.tracker.eventsOf(runId)) {
      if (apply(event)) {
        resolve(result);
        return;
      }
    }
    const subscriptions: vscode.Disposable[] = [];
    const finish = (): void => {
      for (const s of subscriptions) {
        s.dispose();
      }
      resolve(result);
    };
    subscriptions.push(
      service.tracker.onEvent((event) => {
        if (event.runId === runId && apply(event)) {
          finish();
        }
      }),
      token.onCancellationRequested(() => {
        void service.cancel(runId);
      }),
    );
  });
}
