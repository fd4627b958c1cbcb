// Building the native backend, in throwaway copies of the package: `npm install` never fails (no compiler,
// or C that does not compile, leaves swat on the wasm backend with one warning, or on the reference backend
// where the WebAssembly modules are missing too, the copy run here; test/wasm.test.ts runs one that has
// them), while the strict check that `npm test` runs first accepts only an addon built from the sources in
// the tree and fails, naming the compiler's error, when those sources do not build.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { fixtureTree } from './support/files.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ADDON = join('build', 'Release', 'swat_native.node');

/** A copy of what node-gyp builds from (binding.gyp, native/), with the built addon when `withAddon`. */
function packageCopy(withAddon: boolean): string {
  const { root } = fixtureTree('swat-native-build-');
  cpSync(join(ROOT, 'binding.gyp'), join(root, 'binding.gyp'));
  cpSync(join(ROOT, 'native'), join(root, 'native'), { recursive: true });
  if (withAddon) {
    mkdirSync(join(root, 'build', 'Release'), { recursive: true });
    cpSync(join(ROOT, ADDON), join(root, ADDON));
  }
  return root;
}

function install(root: string, ...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [join(root, 'native', 'install.mjs'), ...args], { cwd: root, encoding: 'utf8' });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

test('the strict check accepts an addon built from the current sources without rebuilding it', () => {
  const root = packageCopy(true);
  const r = install(root, '--strict');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^swat: native backend is built from the current sources \([0-9a-f]{12}\)\n$/);
});

test('C that does not compile: the install still succeeds without an addon; the strict check fails naming the error', () => {
  const root = packageCopy(true);
  appendFileSync(join(root, 'native', 'addon.c'), '\nthis is not C;\n');
  const strict = install(root, '--strict');
  assert.equal(strict.code, 1);
  assert.match(strict.out, /^swat: native backend built from other sources \([0-9a-f]{12}\); rebuilding from the current sources/);
  const lines = strict.err.trimEnd().split('\n');
  assert.equal(lines[0], 'swat: error: the native backend does not build from the current sources (full log: build/native-build.log):');
  assert.ok(lines.some((l) => /native\/addon\.c:\d+:\d+: error/.test(l)), strict.err);

  const lenient = install(root);
  assert.equal(lenient.code, 0, lenient.err);
  assert.match(lenient.out, /^swat: native backend not built \(no C compiler or node-gyp failed; see build\/native-build\.log\): the wasm backend will be used\n$/);
  assert.ok(!existsSync(join(root, ADDON)), 'no addon is left behind');
});

test('without an addon or WebAssembly modules swat warns once and uses the reference backend; --backend native is a one-line error', () => {
  const { root } = fixtureTree('swat-no-addon-');
  cpSync(join(ROOT, 'dist', 'src'), join(root, 'dist', 'src'), { recursive: true });
  cpSync(join(ROOT, 'package.json'), join(root, 'package.json'));
  symlinkSync(join(ROOT, 'node_modules'), join(root, 'node_modules'), 'dir');
  const env = { ...process.env };
  delete env['SWAT_BACKEND'];
  const swat = (...args: string[]) => spawnSync(process.execPath, [join(root, 'dist', 'src', 'cli', 'main.js'), ...args], { encoding: 'utf8', env });
  const arch = ['--vocab-size', '16', '--layers', '1', '--dim', '8', '--heads', '2', '--window', '4'];

  const fallback = swat('init', '--out', join(root, 'model'), ...arch);
  assert.equal(fallback.status, 0, fallback.stderr);
  assert.equal(fallback.stderr,
    'swat: native backend unavailable (build/Release/swat_native.node was not built (npm install needs a C compiler for it)); using the reference backend\n');
  assert.ok(existsSync(join(root, 'model', 'model.safetensors')));

  const forced = swat('init', '--out', join(root, 'forced'), ...arch, '--backend', 'native');
  assert.notEqual(forced.status, 0);
  assert.equal(forced.stderr,
    "swat: error: backend 'native' is unavailable: build/Release/swat_native.node was not built (npm install needs a C compiler for it)\n");
});
