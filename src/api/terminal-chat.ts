// The interactive session of `swat chat`: read a line, stream the answer, keep the conversation (trimmed to
// what the model can see, see chat.ts). `/reset` forgets it; Ctrl-C stops the answer being written (and
// keeps what was written); Ctrl-D (end of input) quits. Lines typed or piped while an answer is written wait
// their turn, so a script can pipe a whole conversation in.

import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import type { ChatMessage } from './chat.js';
import type { CompletionOptions, TextModel } from './model.js';

export interface TerminalChatOptions {
  input: Readable;
  /** Where answers and prompts are written. */
  write: (text: string) => void;
  /** A system message starting every conversation. */
  system?: string;
  /** Show the "> " prompt (an interactive terminal). */
  prompt: boolean;
  output?: Writable;
}

export async function terminalChat(model: TextModel, completion: CompletionOptions, o: TerminalChatOptions): Promise<void> {
  const rl = createInterface({ input: o.input, ...(o.prompt && o.output ? { output: o.output, terminal: true } : { terminal: false }) });
  const fresh = (): ChatMessage[] => (o.system ? [{ role: 'system', content: o.system }] : []);
  let history = fresh();
  let answering: AbortController | null = null;
  rl.on('SIGINT', () => {
    if (answering) answering.abort();
    else o.write('\n(Ctrl-D quits)\n');
    if (!answering && o.prompt) rl.prompt();
  });
  if (o.prompt) {
    rl.setPrompt('> ');
    rl.prompt();
  }
  for await (const line of rl) {
    const text = line.trim();
    if (text === '/reset') {
      history = fresh();
      o.write('(conversation reset)\n');
    } else if (text !== '') {
      history.push({ role: 'user', content: text });
      answering = new AbortController();
      let answer = '';
      try {
        for await (const piece of model.chat(history, { ...completion, signal: answering.signal })) {
          answer += piece;
          o.write(piece);
        }
      } catch (e) {
        if (!answering.signal.aborted) throw e;
        o.write(' [stopped]');
      }
      answering = null;
      history.push({ role: 'assistant', content: answer.trim() });
      o.write('\n');
    }
    if (o.prompt) rl.prompt();
  }
}
