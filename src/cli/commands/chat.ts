// swat chat: an interactive conversation with a model at the terminal (src/api/terminal-chat.ts).

import { terminalChat } from '../../api/terminal-chat.js';
import { type CommandSpec, COUNT, type Parsed, int, str } from '../args.js';
import { DTYPE_OPTION, MODEL_OPTION, SAMPLING_OPTIONS, completionOptions, loadFrom } from '../inference.js';
import { print } from '../output.js';

export const chatCommand: CommandSpec = {
  name: 'chat',
  summary: 'talk to a model: streaming answers, /reset forgets, Ctrl-C stops an answer, Ctrl-D quits',
  usage: '-m DIR [--system TEXT] [-n N] [--temp T]',
  options: {
    model: MODEL_OPTION,
    dtype: DTYPE_OPTION,
    system: { type: 'string', arg: 'TEXT', help: 'a system message that starts every conversation' },
    'max-tokens': { type: 'string', arg: 'N', short: 'n', check: COUNT, help: 'longest answer, in tokens', default: '256' },
    ...SAMPLING_OPTIONS,
  },
};

export async function runChat(v: Parsed): Promise<void> {
  const model = await loadFrom(v, 'chat', { maxStreams: 1 });
  try {
    const tty = process.stdin.isTTY === true;
    const system = str(v, 'system');
    if (tty) print(`swat chat: ${model.dir} (${model.backend} backend). /reset forgets, Ctrl-C stops an answer, Ctrl-D quits.\n`);
    await terminalChat(model, completionOptions(v, int(v, 'max-tokens')!), {
      input: process.stdin, output: process.stdout, write: print, prompt: tty, ...(system !== undefined ? { system } : {}),
    });
  } finally {
    await model.close();
  }
}
