// The terminal chat loop behind `em-lab chat`: readline prompt, streamed answers, /reset, /system, /quit.
// Ctrl-C while an answer streams stops that answer (between tokens); Ctrl-C at the prompt leaves.
import { createInterface, type Interface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import type { ChatMessage, ModelRef } from '../../protocol/chatMethods';
import { errorMessage } from '../errors';
import { generateChats } from '../model/generateChat';
import type { ModelSessions } from '../model/generateSession';
import type { SamplingParams } from '../model/sampling';
import type { CliIO } from './command';

export interface ReplOptions {
  sessions: ModelSessions;
  ref: ModelRef;
  sampling: Partial<SamplingParams>;
  system?: string;
  io: CliIO;
  input?: Readable;
  output?: Writable;
}

const HELP = 'Commands: /reset (forget the conversation), /system TEXT (set the system prompt; /system alone clears it), /quit.';

export async function runChatRepl(o: ReplOptions): Promise<number> {
  const input = o.input ?? process.stdin;
  const output = o.output ?? process.stdout;
  const loaded = await o.sessions.load(o.ref, (m, f) => o.io.progress(m, f));
  const l = loaded.label;
  output.write(`Chatting with ${l.warning ? `${l.modelName} (${l.warning})` : l.modelName}${l.weights ? ` (${l.weights} weights)` : ''}${l.adapterName ? ` + adapter ${l.adapterName}` : ''}${l.steering ? ` (${l.steering})` : ''}. ${HELP}\n`);
  const rl: Interface = createInterface({ input, output, terminal: (input as { isTTY?: boolean }).isTTY === true });
  let system = o.system;
  let history: ChatMessage[] = [];
  let answering: AbortController | undefined;
  rl.on('SIGINT', () => {
    if (answering) answering.abort();
    else rl.close();
  });
  // The async iterator queues lines, so piped input (several lines at once) is answered line by line; the end of
  // input (Ctrl-D, or the end of a pipe) lets the answer being written finish, then leaves.
  rl.setPrompt('you> ');
  const lines = rl[Symbol.asyncIterator]();
  const ask = async (): Promise<string | undefined> => {
    rl.prompt();
    const next = await lines.next();
    return next.done ? undefined : String(next.value);
  };

  for (;;) {
    const line = await ask();
    if (line === undefined) break;
    const text = line.trim();
    if (!text) continue;
    if (text === '/quit' || text === '/exit') break;
    if (text === '/reset') {
      history = [];
      output.write('(conversation cleared)\n');
      continue;
    }
    if (text === '/system' || text.startsWith('/system ')) {
      system = text.slice('/system'.length).trim() || undefined;
      output.write(system ? '(system prompt set)\n' : '(system prompt cleared)\n');
      continue;
    }
    if (text.startsWith('/')) {
      output.write(`Unknown command ${text.split(' ')[0]}. ${HELP}\n`);
      continue;
    }
    history.push({ role: 'user', content: text });
    answering = new AbortController();
    output.write('model> ');
    try {
      const gen = await generateChats(o.sessions, o.ref, [system ? [{ role: 'system', content: system }, ...history] : history], {
        sampling: o.sampling,
        batchSize: 1,
        signal: answering.signal,
        onToken: (_item, e) => output.write(e.delta),
      });
      const a = gen.answers[0]!;
      history.push({ role: 'assistant', content: a.text });
      output.write(`\n  [${a.tokenIds.length} tokens, ${a.finishReason === 'cancelled' ? 'stopped' : a.finishReason === 'length' ? 'hit max_new_tokens' : 'ended'}, seed ${a.seed}, ${gen.decodeTokensPerSecond.toFixed(1)} tokens/s]\n`);
    } catch (err) {
      history.pop();
      output.write(`\nerror: ${errorMessage(err)}\n`);
    } finally {
      answering = undefined;
    }
  }
  rl.close();
  return 0;
}
