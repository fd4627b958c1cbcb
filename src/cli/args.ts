// The command line's declarations: every command states its options once (type, value check, default, help)
// and the parser (parse.ts, on commander) builds help, typo suggestions and checks from them. Every value is
// checked before a command runs, so bad input is one line before any long work; the run functions then read
// values that are known good through the small accessors below.

import { InputError, showValue } from '../errors.js';

/** A test of an option's text and what it must be, for the error line ("a positive integer"). */
export interface ValueCheck {
  test: (text: string) => boolean;
  expected: string;
}

export interface OptionSpec {
  type: 'string' | 'boolean';
  help: string;
  /** Shown in help and used when absent (strings only; booleans default to false). */
  default?: string;
  /** The option takes one or more values (`--data a b --data c`). */
  multiple?: boolean;
  /** Placeholder in help, e.g. DIR. */
  arg?: string;
  /** Checked for the default and for every value given, before the command runs. */
  check?: ValueCheck;
  /** A one-letter alias, e.g. 'm' for -m. */
  short?: string;
}

export interface SubcommandSpec {
  summary: string;
  /** Options of this subcommand only (the parent's options apply too). */
  options?: Record<string, OptionSpec>;
}

export interface CommandSpec {
  name: string;
  summary: string;
  usage: string;
  /** Options of the command (of every subcommand, when it has them). */
  options: Record<string, OptionSpec>;
  /** A required first word choosing a subcommand (e.g. `swat bench gemm`), returned as `_`. */
  subcommands?: Record<string, SubcommandSpec>;
}

export type Parsed = Record<string, string | boolean | string[] | undefined>;

/** The options in effect for a command, or for one of its subcommands. */
export function optionsOf(c: CommandSpec, sub?: string): Record<string, OptionSpec> {
  return { ...c.options, ...(sub !== undefined ? c.subcommands?.[sub]?.options : {}) };
}

// ---------------------------------------------------------------------------------------------- checks

/** Bound of every count on the command line: 32-bit signed, so no size built from them overflows silently. */
export const MAX_COUNT = 2 ** 31 - 1;

const digits = (s: string) => /^\d+$/.test(s) && Number(s) <= MAX_COUNT;
const decimal = (s: string) => /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s) && Number.isFinite(Number(s));

export const COUNT: ValueCheck = { test: digits, expected: `a whole number from 0 to ${MAX_COUNT}` };
export const POSITIVE: ValueCheck = { test: (s) => digits(s) && Number(s) > 0, expected: `a whole number from 1 to ${MAX_COUNT}` };
export const NUMBER: ValueCheck = { test: decimal, expected: 'a number' };
export const NON_NEGATIVE: ValueCheck = { test: (s) => decimal(s) && Number(s) >= 0, expected: 'a number ≥ 0' };
export const PROBABILITY: ValueCheck = { test: (s) => decimal(s) && Number(s) >= 0 && Number(s) <= 1, expected: 'a number from 0 to 1' };
export const FRACTION: ValueCheck = { test: (s) => decimal(s) && Number(s) > 0 && Number(s) < 1, expected: 'a number between 0 and 1 (exclusive)' };
/** Seeds are taken modulo 2^32; both signed and unsigned 32-bit spellings are accepted. */
export const SEED: ValueCheck = {
  test: (s) => /^-?\d+$/.test(s) && Number(s) >= -(2 ** 31) && Number(s) <= 2 ** 32 - 1,
  expected: `a whole number from ${-(2 ** 31)} to ${2 ** 32 - 1}`,
};
export const WINDOW: ValueCheck = { test: (s) => s === 'none' || POSITIVE.test(s), expected: "a positive whole number or 'none'" };
export const COUNT_LIST: ValueCheck = {
  test: (s) => s.split(',').every((p) => COUNT.test(p.trim())),
  expected: 'comma-separated whole numbers (e.g. 1,2,3)',
};
export const POSITIVE_LIST: ValueCheck = {
  test: (s) => s.split(',').every((p) => POSITIVE.test(p.trim())),
  expected: 'comma-separated positive whole numbers (e.g. 64,256)',
};

const tokenId = (p: string) => /^\d+$/.test(p) && Number.isSafeInteger(Number(p));
export const IDS: ValueCheck = {
  test: (s) => s.trim() !== '' && s.split(',').every((p) => tokenId(p.trim())),
  expected: 'comma-separated token ids (e.g. 1,2,3)',
};

export function oneOf(...choices: string[]): ValueCheck {
  return { test: (s) => choices.includes(s), expected: `one of ${choices.join(', ')}` };
}

/** Throws the one-line error of a value that fails its check. */
export function checkValue(name: string, check: ValueCheck, text: string): void {
  if (!check.test(text)) throw new InputError(`--${name} must be ${check.expected}, got ${showValue(text)}`);
}

// ---------------------------------------------------------------------------------------------- accessors

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

function number(v: Parsed, name: string, check: ValueCheck): number | undefined {
  const s = str(v, name);
  if (s === undefined) return undefined;
  checkValue(name, check, s);
  return Number(s);
}

export const int = (v: Parsed, name: string) => number(v, name, COUNT);
export const posInt = (v: Parsed, name: string) => number(v, name, POSITIVE);
export const num = (v: Parsed, name: string) => number(v, name, NUMBER);
export const seed = (v: Parsed, name = 'seed') => number(v, name, SEED);

/** A comma-separated list of whole numbers, or undefined when the option is absent. */
export function intList(v: Parsed, name: string): number[] | undefined {
  const s = str(v, name);
  if (s === undefined) return undefined;
  checkValue(name, COUNT_LIST, s);
  return s.split(',').map((p) => Number(p.trim()));
}

export function required<T>(value: T | undefined, name: string, command: string): T {
  if (value === undefined) throw new InputError(`swat ${command}: --${name} is required (see swat ${command} --help)`);
  return value;
}

/** "1,2,3" → [1, 2, 3] (the vocabulary check happens in the model). */
export function parseIds(s: string, name = 'ids'): number[] {
  checkValue(name, IDS, s);
  return s.split(',').map((p) => Number(p.trim()));
}

const GIVEN = Symbol('given');

/** Marks which options the user typed (parse.ts), as opposed to defaults filled in. */
export function markGiven(v: Parsed, names: Iterable<string>): void {
  Object.defineProperty(v, GIVEN, { value: new Set(names), enumerable: false });
}

/** Whether the user typed --name (a default filled in does not count): resuming compares only these. */
export function given(v: Parsed, name: string): boolean {
  const set = (v as { [GIVEN]?: Set<string> })[GIVEN];
  return set !== undefined && set.has(name);
}
