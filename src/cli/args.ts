// Command-line parsing on top of node:util parseArgs: every command declares its options once (type,
// default, help), which gives both the parser and the --help text. Bad values are one-line InputErrors.

import { parseArgs } from 'node:util';
import { InputError } from '../errors.js';

export interface OptionSpec {
  type: 'string' | 'boolean';
  help: string;
  /** Shown in help and used when absent (strings only; booleans default to false). */
  default?: string;
  multiple?: boolean;
  /** Placeholder in help, e.g. DIR. */
  arg?: string;
}

export interface CommandSpec {
  name: string;
  summary: string;
  usage: string;
  options: Record<string, OptionSpec>;
  /** A required first word choosing a sub-command (e.g. `swat bench gemm`), returned as `_`. */
  subcommands?: Record<string, string>;
  /** Heading of the sub-command list in --help. */
  subcommandTitle?: string;
}

export type Parsed = Record<string, string | boolean | string[] | undefined>;

export function helpText(c: CommandSpec): string {
  const rows = Object.entries(c.options).map(([name, o]) => {
    const flag = o.type === 'boolean' ? `--${name}` : `--${name} ${o.arg ?? 'X'}`;
    const def = o.default !== undefined ? ` (default: ${o.default})` : '';
    return `  ${flag.padEnd(30)} ${o.help}${def}`;
  });
  const subs = c.subcommands ? `\n${c.subcommandTitle ?? 'Subcommands'}:\n${Object.entries(c.subcommands).map(([n, h]) => `  ${n.padEnd(30)} ${h}`).join('\n')}\n` : '';
  return `swat ${c.name}: ${c.summary}\n\nUsage: swat ${c.name} ${c.usage}\n${subs}\nOptions:\n${rows.join('\n')}\n  ${'--help'.padEnd(30)} show this help\n`;
}

/** Parses argv for a command; unknown options and stray positionals are errors. */
export function parseCommand(c: CommandSpec, argv: string[]): Parsed {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }> = { help: { type: 'boolean' } };
  for (const [name, o] of Object.entries(c.options)) options[name] = { type: o.type, ...(o.multiple ? { multiple: true } : {}) };
  let values: Parsed;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: argv, options, allowPositionals: true, strict: true }) as { values: Parsed; positionals: string[] });
  } catch (e) {
    throw new InputError(`swat ${c.name}: ${(e as Error).message.split('\n')[0]} (see swat ${c.name} --help)`);
  }
  if (c.subcommands && !values['help']) {
    const sub = positionals.shift();
    if (sub === undefined || !(sub in c.subcommands)) {
      throw new InputError(`swat ${c.name}: expected one of ${Object.keys(c.subcommands).join(', ')}${sub === undefined ? '' : `, got '${sub}'`}`);
    }
    values['_'] = sub;
  }
  if (positionals.length) throw new InputError(`swat ${c.name}: unexpected argument '${positionals[0]}' (see swat ${c.name} --help)`);
  const explicit = new Set(Object.keys(values).filter((k) => values[k] !== undefined));
  Object.defineProperty(values, GIVEN, { value: explicit, enumerable: false });
  for (const [name, o] of Object.entries(c.options)) if (values[name] === undefined && o.default !== undefined) values[name] = o.default;
  return values;
}

const GIVEN = Symbol('given');

/** Whether the user typed --name (a default filled in does not count): resuming compares only these. */
export function given(v: Parsed, name: string): boolean {
  const set = (v as { [GIVEN]?: Set<string> })[GIVEN];
  return set !== undefined && set.has(name);
}

export function str(v: Parsed, name: string): string | undefined {
  const x = v[name];
  return typeof x === 'string' ? x : undefined;
}

export function flag(v: Parsed, name: string): boolean {
  return v[name] === true;
}

export function list(v: Parsed, name: string): string[] {
  const x = v[name];
  return Array.isArray(x) ? x : typeof x === 'string' ? [x] : [];
}

function number(v: Parsed, name: string, ok: (n: number) => boolean, what: string): number | undefined {
  const s = str(v, name);
  if (s === undefined) return undefined;
  const n = Number(s);
  if (s.trim() === '' || !ok(n)) throw new InputError(`--${name} must be ${what}, got '${s}'`);
  return n;
}

export const int = (v: Parsed, name: string) => number(v, name, (n) => Number.isInteger(n) && n >= 0, 'a non-negative integer');
export const posInt = (v: Parsed, name: string) => number(v, name, (n) => Number.isInteger(n) && n > 0, 'a positive integer');
export const num = (v: Parsed, name: string) => number(v, name, Number.isFinite, 'a number');

export function required<T>(value: T | undefined, name: string, command: string): T {
  if (value === undefined) throw new InputError(`swat ${command}: --${name} is required (see swat ${command} --help)`);
  return value;
}

/** "1,2,3" → [1, 2, 3]; the vocabulary check happens in the model. */
export function parseIds(s: string, name = 'ids'): number[] {
  const parts = s.split(',').map((p) => p.trim()).filter((p) => p !== '');
  const ids = parts.map(Number);
  const bad = parts.findIndex((p, i) => !/^-?\d+$/.test(p) || !Number.isSafeInteger(ids[i]));
  if (bad >= 0) throw new InputError(`--${name}: '${parts[bad]}' is not an integer token id`);
  return ids;
}
