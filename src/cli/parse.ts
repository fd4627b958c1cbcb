// The command-line parser: the declarations of args.ts turned into commander commands, which give help for
// every command and subcommand, -h, --version, suggestions for typos, repeated and multi-value options
// (`--data a/*.txt` as the shell expands it) and values that start with '-' (`--seed -1`). Commander's
// own error text is rewritten as one line naming the command; values are checked against their
// declarations before anything runs.

import { Command, CommanderError, Option } from 'commander';
import { InputError, showValue } from '../errors.js';
import { type CommandSpec, type OptionSpec, type Parsed, checkValue, markGiven, optionsOf } from './args.js';

export interface Invocation {
  spec: CommandSpec;
  values: Parsed;
}

/** Parses `argv` (without node and the script); returns null when help or the version was printed. */
export function parseCommandLine(specs: readonly CommandSpec[], argv: string[], version: string, print: (text: string) => void): Invocation | null {
  const program = new Command('swat')
    .description('SWAT language models: sliding-window sigmoid attention, constant-memory inference over unbounded text')
    .usage('COMMAND [options]   (swat COMMAND --help for its options)')
    .version(version, '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show this help')
    .helpCommand('help [command]', 'show help for a command')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({ writeOut: print, writeErr: () => {}, outputError: () => {} });
  let chosen: Invocation | null = null;
  for (const spec of specs) {
    const cmd = program.command(spec.name).description(spec.summary).usage(spec.usage);
    const attach = (target: Command, sub?: string) => {
      const options = optionsOf(spec, sub);
      const declared = Object.entries(options).map(([name, o]) => [name, o, toOption(name, o)] as const);
      for (const [, , option] of declared) target.addOption(option);
      target.allowExcessArguments(true).action((_opts: unknown, self: Command) => {
        chosen = { spec, values: collect(self, declared, [spec.name, ...(sub ? [sub] : [])]) };
        if (sub !== undefined) chosen.values['_'] = sub;
      });
    };
    if (spec.subcommands) {
      for (const [sub, s] of Object.entries(spec.subcommands)) attach(cmd.command(sub).description(s.summary), sub);
    } else {
      attach(cmd);
    }
  }
  if (argv.length === 0) {
    print(program.helpInformation());
    return null;
  }
  try {
    program.parse(argv, { from: 'user' });
  } catch (e) {
    if (!(e instanceof CommanderError)) throw e;
    if (e.exitCode === 0) return null; // help or version printed
    throw new InputError(oneLine(e, specs, argv));
  }
  return chosen;
}

function toOption(name: string, o: OptionSpec): Option {
  const flags = `${o.short ? `-${o.short}, ` : ''}--${name}`;
  if (o.type === 'boolean') return new Option(flags, o.help);
  const help = o.default !== undefined ? `${o.help} (default: ${o.default})` : o.help;
  return new Option(`${flags} <${o.arg ?? 'X'}${o.multiple ? '...' : ''}>`, help);
}

/** The values of every declared option: what the user typed, else the default; each checked. */
function collect(cmd: Command, declared: readonly (readonly [string, OptionSpec, Option])[], path: string[]): Parsed {
  const where = `swat ${path.join(' ')}`;
  if (cmd.args.length) throw new InputError(`${where}: unexpected argument ${showValue(cmd.args[0]!)} (see ${where} --help)`);
  const opts = cmd.opts();
  const values: Parsed = {};
  const typed: string[] = [];
  for (const [name, o, option] of declared) {
    let v = opts[option.attributeName()] as Parsed[string];
    // A declared `--no-x` is a plain switch here; commander models it as x defaulting to true.
    if (option.negate) v = v === false ? true : undefined;
    if (v !== undefined) typed.push(name);
    else if (o.default !== undefined) v = o.default;
    if (o.check !== undefined && v !== undefined && typeof v !== 'boolean') {
      for (const text of Array.isArray(v) ? v : [v]) checkValue(name, o.check, text);
    }
    values[name] = v;
  }
  markGiven(values, typed);
  return values;
}

/** Commander's error as one line naming the command, with its suggestion folded in. */
function oneLine(e: CommanderError, specs: readonly CommandSpec[], argv: string[]): string {
  const spec = specs.find((s) => s.name === argv[0]);
  const sub = spec?.subcommands && argv[1] !== undefined && argv[1] in spec.subcommands ? argv[1] : undefined;
  const path = ['swat', ...(spec ? [spec.name] : []), ...(sub ? [sub] : [])].join(' ');
  if (spec?.subcommands && sub === undefined) {
    const word = argv[1] === undefined || argv[1].startsWith('-') ? '' : `, got ${showValue(argv[1])}`;
    const suggestion = /\(Did you mean (.*)\?\)/.exec(e.message);
    return `${path}: expected one of ${Object.keys(spec.subcommands).join(', ')}${word}${suggestion ? ` (did you mean ${suggestion[1]}?)` : ''}`;
  }
  const message = e.message
    .replace(/^error: /, '')
    .replace(/^option '(-[^ ',]+)(, (--[^ ']+))?[^']*' argument missing$/, (_m, a: string, _b, c?: string) => `${c ?? a} needs a value`)
    .replace(/\s*\n\(Did you mean (.*)\?\)/, ' (did you mean $1?)')
    .replace(/\s*\n\s*/g, ' ');
  return `${path}: ${message} (see ${path} --help)`;
}
