// The committed WebAssembly modules are what `npm run build:wasm` makes from the sources: rebuilt into a
// temporary folder, every module has the same bytes. The bytes depend on the compiler, so this runs when
// the clang that built the committed modules (named in their producers section) is installed (Debian:
// clang-19 and lld-19, which CI installs), and is skipped with a notice otherwise.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('../..', import.meta.url).pathname; // from dist/test/
const modules = join(root, 'native/wasm/modules');
const CLANG = 'clang-19';

/** "Debian clang version 19.1.7 (3~deb12u1)" as the producers section spells it: "Debian clang" and the
 *  version after it. */
function committedCompiler(): string {
  const module = new WebAssembly.Module(readFileSync(join(modules, 'swat-simd128.wasm')));
  const section = new Uint8Array(WebAssembly.Module.customSections(module, 'producers')[0]!);
  const text = new TextDecoder().decode(section);
  const m = /(Debian clang|clang)[^\w]+(\d+\.\d+\.\d+[^\x00-\x1f]*)/.exec(text);
  return m ? `${m[1]} version ${m[2]}` : 'unknown';
}

function installedCompiler(): string | null {
  const r = spawnSync(CLANG, ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.split('\n')[0]!.trim() : null;
}

const built = committedCompiler();
const installed = installedCompiler();
const skip = installed === null
  ? `${CLANG} is not installed (apt-get install clang-19 lld-19); the committed modules were built by ${built}`
  : installed !== built
    ? `the committed modules were built by ${built}, this machine has ${installed}: the bytes would differ`
    : false;
if (skip) process.stderr.write(`notice: wasm rebuild test skipped: ${skip}\n`);

describe('wasm modules: npm run build:wasm reproduces the committed bytes', { skip }, () => {
  it(`rebuilding with ${built} gives every module byte for byte`, () => {
    const out = mkdtempSync(join(tmpdir(), 'swat-wasm-build-'));
    try {
      const r = spawnSync(process.execPath, [join(root, 'native/wasm/build.mjs'), '--out', out], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const committed = readdirSync(modules).filter((f) => f.endsWith('.wasm')).sort();
      assert.deepEqual(readdirSync(out).sort(), committed, 'the same set of modules');
      assert.equal(committed.length, 4);
      for (const file of committed) {
        assert.ok(readFileSync(join(out, file)).equals(readFileSync(join(modules, file))), `${file} differs from its rebuild`);
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
