// Running the swat command as a user does, for the CLI tests: a real process on the compiled entry point,
// on the reference backend (so the tests do not depend on the native build).

import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
export const SWAT_ENV = { ...process.env, SWAT_BACKEND: 'reference' };

type Result = { code: number; out: string; err: string };

export function swat(...args: string[]): Result {
  return swatWith({}, ...args);
}

/** `swat` with extra environment variables (e.g. a test hook). */
export function swatWith(extraEnv: Record<string, string>, ...args: string[]): Result {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', env: { ...SWAT_ENV, ...extraEnv } });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

/** swat with its address space bounded (`ulimit -v`, in MiB): an allocation past it fails the process, so
 *  a run that passes allocated no more. Node itself needs about 1.2 GiB of address space. */
export function swatWithin(memoryMiB: number, ...args: string[]): Result {
  const script = `ulimit -v ${memoryMiB * 1024} && exec "$0" "$@"`;
  const r = spawnSync('/bin/sh', ['-c', script, process.execPath, MAIN, ...args], { encoding: 'utf8', env: SWAT_ENV });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

/** A swat process in the background, for tests about processes (signals, locks, concurrent readers). */
export interface Launched {
  child: ChildProcess;
  /** stdout and stderr so far. */
  out: () => string;
  err: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function launch(...args: string[]): Launched {
  const child = spawn(process.execPath, [MAIN, ...args], { env: SWAT_ENV, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => child.on('close', (code, signal) => done({ code, signal })));
  return { child, out: () => out, err: () => err, exit };
}

/** Waits until `condition` holds, checking every 10 ms; fails after `timeoutMs`. */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const until = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > until) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Runs a command that must succeed; returns its stdout and stderr. */
export function succeeds(...args: string[]): { out: string; err: string } {
  const r = swat(...args);
  assert.equal(r.code, 0, `swat ${args.join(' ')} failed: ${r.err}`);
  return r;
}

/** Runs a command that must succeed; returns its stdout. */
export function ok(...args: string[]): string {
  return succeeds(...args).out;
}

/** Runs a command that must fail with one stderr line, no stack trace: exactly `swat: error: <message>`
 *  for a string, or a line matching a pattern. */
export function fails(message: string | RegExp, ...args: string[]): void {
  failedWith(swat(...args), message, args);
}

/** `fails`, with extra environment variables. */
export function failsWith(extraEnv: Record<string, string>, message: string | RegExp, ...args: string[]): void {
  failedWith(swatWith(extraEnv, ...args), message, args);
}

/** `fails`, with the address space bounded as in swatWithin. */
export function failsWithin(memoryMiB: number, message: string | RegExp, ...args: string[]): void {
  failedWith(swatWithin(memoryMiB, ...args), message, args);
}

function failedWith(r: Result, message: string | RegExp, args: string[]): void {
  assert.notEqual(r.code, 0, `swat ${args.join(' ')} should fail`);
  const lines = r.err.trimEnd().split('\n');
  assert.equal(lines.length, 1, `expected one line, got:\n${r.err}`);
  assert.doesNotMatch(r.err, /\n\s+at /, 'stack trace printed');
  if (typeof message === 'string') assert.equal(lines[0], `swat: error: ${message}`);
  else assert.match(lines[0]!, message);
}
