#!/usr/bin/env node
// The swat command: dispatches to subcommands; user errors print one line and exit 1, bugs keep their stack.

import { SwatError } from '../errors.js';
import { type CommandSpec, type Parsed, helpText, parseCommand } from './args.js';
import { BACKEND_OPTIONS } from './backend.js';
import { benchCommand, runBench } from './commands/bench.js';
import { evalCommand, runEval } from './commands/eval.js';
import { experimentCommand, runExperiment } from './commands/experiment.js';
import { generateCommand, runGenerate } from './commands/generate.js';
import { infoCommand, runInfo } from './commands/info.js';
import { initCommand, runInit } from './commands/init.js';
import { runScore, scoreCommand } from './commands/score.js';
import { runTokenizer, tokenizerCommand } from './commands/tokenizer.js';
import { runTrain, trainCommand } from './commands/train.js';


const COMMANDS: [CommandSpec, (v: Parsed) => void | Promise<void>][] = [
  [initCommand, runInit],
  [trainCommand, runTrain],
  [generateCommand, runGenerate],
  [scoreCommand, runScore],
  [infoCommand, runInfo],
  [benchCommand, runBench],
  [evalCommand, runEval],
  [experimentCommand, runExperiment],
  [tokenizerCommand, runTokenizer],
];

function usage(): string {
  const rows = COMMANDS.map(([c]) => `  ${c.name.padEnd(10)} ${c.summary}`);
  return `swat: SWAT language models (sliding-window sigmoid attention)\n\nUsage: swat COMMAND [options]   (swat COMMAND --help for its options)\n\nCommands:\n${rows.join('\n')}\n`;
}

async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return;
  }
  const entry = COMMANDS.find(([c]) => c.name === name);
  if (!entry) throw new SwatError(`unknown command '${name}' (commands: ${COMMANDS.map(([c]) => c.name).join(', ')})`);
  const [spec, run] = entry;
  const withBackend = { ...spec, options: { ...spec.options, ...BACKEND_OPTIONS } };
  const values = parseCommand(withBackend, rest);
  if (values['help']) {
    process.stdout.write(helpText(withBackend));
    return;
  }
  await run(values);
}

main(process.argv.slice(2)).catch((e: unknown) => {
  if (e instanceof SwatError || (e instanceof Error && 'code' in e && typeof (e as NodeJS.ErrnoException).syscall === 'string')) {
    process.stderr.write(`swat: error: ${e.message}\n`);
    process.exit(1);
  }
  throw e;
});
