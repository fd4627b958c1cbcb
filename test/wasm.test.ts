// The wasm backend against the reference: the shared suite of compiled backends (support/backend-suite.ts:
// the op table forward and backward at both kernel levels and one and two threads, large odd shapes,
// bit-identity across thread counts, a training step, the cache equivalences) on the module Node picks, the
// op table on the other modules (one thread on a fixed memory; relaxed SIMD in a Node that has it), then
// what is the wasm backend's own: buffers in its memory that survive growth and are freed after collection,
// plain arrays copied in and out, one-line argument errors, selection by name and as the fallback of a
// missing native addon, and the same tokens as the native backend from the command line.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

import { selectBackend } from '../src/backend/index.js';
import type { WasmBackend } from '../src/backend/wasm/backend.js';
import { bestSimd } from '../src/backend/wasm/modules.js';
import { createWasmBackend, wasmUnavailableReason } from '../src/backend/wasm/node.js';
import { f32Weight } from '../src/backend/weight.js';
import { InputError, SwatError } from '../src/errors.js';
import { compiledBackendSuite } from './support/backend-suite.js';
import { ok } from './support/cli.js';
import { opTableFailures } from './support/wasm-optable.js';

const unavailable = wasmUnavailableReason();
const skip = unavailable === null ? false : `wasm backend unavailable: ${unavailable}`;
const root = new URL('../..', import.meta.url).pathname; // from dist/test/

let wasm: WasmBackend | null = null;
function be(): WasmBackend {
  wasm ??= createWasmBackend({ threads: 2 });
  return wasm;
}

compiledBackendSuite(`wasm backend (${bestSimd()}, shared memory)`, be, () => be().isaLevels(), skip);

describe('wasm backend: the other modules', { skip }, () => {
  it('the one-thread module on a fixed memory (pages without cross-origin isolation) passes the op table', () => {
    const single = createWasmBackend({ sharedMemory: false });
    assert.equal(single.runtime.shared, false);
    assert.equal(single.threads, 1);
    single.setThreads(4); // no shared memory, no workers: stays one thread
    assert.equal(single.threads, 1);
    assert.deepEqual(opTableFailures(single), []);
  });

  it('the SIMD128 module passes the op table, also where the engine would pick relaxed SIMD', () => {
    const plain = createWasmBackend({ simd: 'simd128', threads: 2 });
    assert.equal(plain.isa, 'simd128');
    assert.deepEqual(opTableFailures(plain), []);
  });

  it('the relaxed-SIMD module passes the op table, in a Node started with relaxed SIMD where this one lacks it', () => {
    if (bestSimd() === 'relaxed-simd') {
      assert.deepEqual(opTableFailures(createWasmBackend({ threads: 2 })), []);
      return;
    }
    const script = join(root, 'dist/test/support/wasm-optable.js');
    const r = spawnSync(process.execPath, ['--experimental-wasm-relaxed-simd', script], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(r.stdout) as { isa: string; cases: number; failures: string[] };
    assert.equal(report.isa, 'relaxed-simd', 'the engine validates relaxed SIMD, so the relaxed module is chosen');
    assert.ok(report.cases > 50, `${report.cases} cases`);
    assert.deepEqual(report.failures, []);
  });
});

describe('wasm backend: memory', { skip }, () => {
  it('hands out zeroed buffers in its memory; earlier buffers stay valid while the memory grows', () => {
    const first = be().alloc(1000);
    first.fill(3);
    const before = be().runtime.memoryBytes;
    const big = be().alloc(64 * 2 ** 20); // 256 MiB: the memory must grow
    assert.ok(be().runtime.memoryBytes > before, 'grew');
    assert.ok(big.every((x) => x === 0), 'zero-filled');
    assert.equal(first.length, 1000, 'not detached');
    const out = be().alloc(1000);
    be().add(out, first, first, 1000);
    assert.ok(out.every((x) => x === 6));
  });

  it('frees a buffer once its array is collected, between tasks', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const round = () => {
      for (let i = 0; i < 8; i++) be().alloc(4 * 2 ** 20)[0] = 1; // 8 × 16 MiB, dropped at once
    };
    const settle = async () => {
      gc();
      for (let i = 0; i < 3; i++) await new Promise((r) => setTimeout(r, 10)); // finalizers run between tasks
    };
    round();
    await settle();
    const after1 = be().runtime.memoryBytes;
    for (let i = 0; i < 5; i++) {
      round();
      await settle();
    }
    assert.equal(be().runtime.memoryBytes, after1, 'the freed blocks were reused');
  });

  it('frees garbage buffers within a synchronous loop too: 3 GiB dropped one MiB at a time fit in a few hundred MiB', () => {
    const before = be().runtime.memoryBytes;
    for (let i = 0; i < 3072; i++) be().alloc(2 ** 18)[0] = i; // would pass the 4 GiB limit if nothing were freed
    const grown = be().runtime.memoryBytes - before;
    assert.ok(grown <= 256 * 2 ** 20, `grew by ${grown / 2 ** 20} MiB`);
  });

  it('takes plain arrays too: copied in and, when written, copied back, with the same results', () => {
    const b = be();
    const n = 37;
    const a = Float32Array.from({ length: n }, (_, i) => Math.sin(i));
    const own = b.alloc(n);
    own.set(a);
    const plainOut = new Float32Array(n);
    const ownOut = b.alloc(n);
    b.add(plainOut, a, a, n);
    b.add(ownOut, own, own, n);
    assert.deepEqual(plainOut, Float32Array.from(ownOut));
    // In place on a plain array (dLogits = logits): staged once, written back.
    const logits = Float32Array.from({ length: 2 * 5 }, (_, i) => Math.cos(i));
    const ownLogits = b.alloc(10);
    ownLogits.set(logits);
    const targets = Int32Array.of(1, -1);
    b.crossEntropyBackward(logits, logits, targets, 0.5, 2, 5);
    b.crossEntropyBackward(ownLogits, ownLogits, targets, 0.5, 2, 5);
    assert.deepEqual(logits, Float32Array.from(ownLogits));
  });

  it('says in one line when the fixed memory of the one-thread module is full', () => {
    const single = createWasmBackend({ sharedMemory: false });
    const limit = single.runtime.memoryBytes;
    assert.throws(() => single.alloc(limit / 4), (e: unknown) =>
      e instanceof SwatError && /^wasm: out of memory: cannot allocate \d+ bytes \(the backend's memory holds at most 1024 MiB\)$/.test(e.message));
    assert.equal(single.alloc(4).length, 4, 'still usable');
  });
});

describe('wasm backend: argument checks throw instead of touching other buffers', { skip }, () => {
  const oneLine = (re: RegExp) => (e: unknown) => e instanceof InputError && re.test(e.message) && !e.message.includes('\n');

  it('rejects Float64Array buffers: it computes in float32 only', () => {
    assert.throws(() => be().add(new Float64Array(4), new Float64Array(4), new Float64Array(4), 4),
      oneLine(/^wasm\.add: got a Float64Array; the wasm backend computes in float32 only$/));
  });

  it('rejects buffers too short for the dimensions', () => {
    const a = be().alloc(6);
    assert.throws(() => be().matmul(be().alloc(5), a, a, 2, 3, 2, false, false, false), oneLine(/^wasm\.matmul: C has 5 elements, the dimensions need 6$/));
    assert.throws(() => be().rmsnormForward(a, a, a, a, 2, 4, 1e-6), oneLine(/^wasm\.rmsnormForward: out has 6 elements, the dimensions need 8$/));
    const s = { B: 1, Tq: 2, Tk: 2, kvStride: 2, H: 1, Dh: 4, window: 2, activation: 'sigmoid' as const, slopes: new Float32Array(1), bias: 0 };
    assert.throws(() => be().attentionForward(new Float32Array(8), new Float32Array(2), new Float32Array(8), new Float32Array(7), new Float32Array(8), s),
      oneLine(/^wasm\.attentionForward: k has 7 elements, the dimensions need 8$/));
  });

  it('rejects impossible shapes, ids and targets', () => {
    const buf = be().alloc(64);
    const s = { B: 1, Tq: 4, Tk: 3, kvStride: 3, H: 1, Dh: 2, window: 2, activation: 'sigmoid' as const, slopes: be().alloc(1), bias: 0 };
    assert.throws(() => be().attentionForward(buf, buf, buf, buf, buf, s), oneLine(/Tq = 4, expected at most Tk \(3\)/));
    assert.throws(() => be().attentionForward(buf, buf, buf, buf, buf, { ...s, Tq: 3, window: 0 }), oneLine(/window = 0/));
    assert.throws(() => be().crossEntropyForward(buf, buf, Int32Array.of(4), 1, 4), oneLine(/^wasm\.crossEntropyForward: targets\[0\] = 4 is outside \[-1, 4\)$/));
    assert.throws(() => be().embeddingForward(buf, f32Weight(be().alloc(6), 2, 3), Int32Array.of(0, 2), 2), oneLine(/^wasm\.embeddingForward: ids\[1\] = 2 is outside the table's 2 rows$/));
    assert.throws(() => be().rope(buf, 1, 1, 1, 3, 0, 10000, false), oneLine(/Dh = 3, expected an even head width/));
    assert.throws(() => be().matmul(buf, buf, buf, 1.5, 1, 1, false, false, false), oneLine(/^wasm\.matmul: M = 1\.5, expected an integer >= 0$/));
    assert.throws(() => be().matmul(buf, buf, buf, 2 ** 31, 0, 1, false, false, false), oneLine(/M = 2147483648, expected at most 2147483647/));
  });

  it('refuses a kernel level the module does not have', () => {
    assert.deepEqual(be().isaLevels(), ['portable', bestSimd()]);
    assert.throws(() => be().setIsa('avx2'), oneLine(/^wasm: instruction set 'avx2' is not in this module \(it has: portable, /));
  });
});

describe('wasm backend: selection', { skip }, () => {
  it('selectBackend gives it by name, with the thread count of options or SWAT_THREADS', () => {
    const b = selectBackend('wasm', { threads: 2 }) as WasmBackend;
    assert.equal(b.name, 'wasm');
    assert.equal(b.threads, 2);
    assert.equal(b.runtime, be().runtime, 'one runtime per process: buffers are shared');
  });

  it('is the fallback when the native addon is missing: a copy of the package without build/ says so once and computes', () => {
    const pkg = mkdtempSync(join(tmpdir(), 'swat-no-addon-'));
    try {
      cpSync(join(root, 'dist'), join(pkg, 'dist'), { recursive: true });
      cpSync(join(root, 'native/wasm/modules'), join(pkg, 'native/wasm/modules'), { recursive: true });
      cpSync(join(root, 'package.json'), join(pkg, 'package.json'));
      symlinkSync(join(root, 'node_modules'), join(pkg, 'node_modules'));
      const model = join(pkg, 'model');
      const cli = join(pkg, 'dist/src/cli/main.js');
      const init = spawnSync(process.execPath, [cli, 'init', '--out', model, '--vocab-size', '50', '--layers', '1', '--dim', '16',
        '--heads', '2', '--window', '4'], { encoding: 'utf8' });
      assert.equal(init.status, 0, init.stderr);
      const r = spawnSync(process.execPath, [cli, 'generate', '--model', model, '--ids', '1,2,3', '--max-new-tokens', '4', '--greedy', '--json'],
        { encoding: 'utf8', env: { ...process.env, SWAT_BACKEND: '' } });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stderr, /^swat: native backend unavailable \(build\/Release\/swat_native\.node was not built .*\); using the wasm backend\n$/);
      assert.equal((JSON.parse(r.stdout) as { ids: number[] }).ids.length, 4);
    } finally {
      rmSync(pkg, { recursive: true, force: true });
    }
  });

  it('swat generate --backend wasm gives the tokens of the reference backend', () => {
    const dir = mkdtempSync(join(tmpdir(), 'swat-wasm-gen-'));
    try {
      const model = join(dir, 'model');
      ok('init', '--out', model, '--vocab-size', '61', '--layers', '2', '--dim', '32', '--heads', '4', '--window', '8', '--seed', '3');
      const gen = (backend: string) => ok('generate', '--model', model, '--ids', '5,9,2', '--max-new-tokens', '24', '--greedy',
        '--json', '--backend', backend, '--threads', '2');
      assert.equal(gen('wasm'), gen('reference'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
