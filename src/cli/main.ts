#!/usr/bin/env node
// The swat command: parses the command line (parse.ts) and runs the chosen command. User errors print one
// line and exit 1; a closed output pipe stops the command quietly; anything else is a bug and keeps its stack.

import { readFileSync } from 'node:fs';
import { SwatError } from '../errors.js';
import type { CommandSpec, Parsed } from './args.js';
import { BACKEND_OPTIONS } from './backend.js';
import { benchCommand, runBench } from './commands/bench.js';
import { chatCommand, runChat } from './commands/chat.js';
import { evalCommand, runEval } from './commands/eval.js';
import { experimentCommand, runExperiment } from './commands/experiment.js';
import { exportCommand, runExport } from './commands/export.js';
import { generateCommand, runGenerate } from './commands/generate.js';
import { infoCommand, runInfo } from './commands/info.js';
import { initCommand, runInit } from './commands/init.js';
import { runScore, scoreCommand } from './commands/score.js';
import { runServe, serveCommand } from './commands/serve.js';
import { runTokenizer, tokenizerCommand } from './commands/tokenizer.js';
import { runTrain, trainCommand } from './commands/train.js';
import { runWeb, webCommand } from './commands/web.js';
import { OutputClosed, print } from './output.js';
import { parseCommandLine } from './parse.js';

type Run = (v: Parsed) => void | Promise<void>;

/** Each command, its run function, and whether it computes (then it takes --backend and --threads). */
const COMMANDS: [CommandSpec, Run, boolean][] = [
  [initCommand, runInit, true],
  [trainCommand, runTrain, true],
  [generateCommand, runGenerate, true],
  [scoreCommand, runScore, true],
  [serveCommand, runServe, true],
  [chatCommand, runChat, true],
  [infoCommand, runInfo, false],
  [exportCommand, runExport, false],
  [benchCommand, runBench, true],
  [evalCommand, runEval, true],
  [experimentCommand, runExperiment, true],
  [tokenizerCommand, runTokenizer, false],
  [webCommand, runWeb, false],
];

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

async function main(argv: string[]): Promise<void> {
  const specs = COMMANDS.map(([c, , computes]) => (computes ? { ...c, options: { ...c.options, ...BACKEND_OPTIONS } } : c));
  const invocation = parseCommandLine(specs, argv, version(), print);
  if (invocation === null) return;
  const [, run] = COMMANDS.find(([c]) => c.name === invocation.spec.name)!;
  await run(invocation.values);
}

function isSystemError(e: unknown): e is NodeJS.ErrnoException {
  return e instanceof Error && typeof (e as NodeJS.ErrnoException).syscall === 'string';
}

function fail(e: unknown): void {
  if (e instanceof OutputClosed) process.exit(0);
  if (e instanceof SwatError || isSystemError(e)) {
    process.stderr.write(`swat: error: ${e.message.replace(/\s*\n\s*/g, ' ')}\n`);
    process.exit(1);
  }
  throw e;
}

// Asynchronous writes to a closed pipe (progress lines, stream output) end the command as quietly.
process.stdout.on('error', (e: NodeJS.ErrnoException) => (e.code === 'EPIPE' ? process.exit(0) : fail(e)));
main(process.argv.slice(2)).catch(fail);
