// The native backend against the reference: the shared suite of compiled backends (support/backend-suite.ts:
// the op table at one and two threads under every instruction-set level this CPU supports, large odd
// shapes, a training step, the cache equivalences of SWAT.md §4), then backend selection, the controls and
// the argument checks of the C glue.
// Never skipped: `npm test` first rebuilds the addon from the sources in the tree (native/install.mjs
// --strict), and the first test fails unless the loaded addon is that build, so edited C is never tested
// against an old binary. What happens without an addon is test/native-build.test.ts.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

import { selectBackend } from '../src/backend/index.js';
import { NativeBackend, nativeAddon, nativeUnavailableReason } from '../src/backend/native.js';
import { f32Weight } from '../src/backend/weight.js';
import { InputError } from '../src/errors.js';
import { compiledBackendSuite } from './support/backend-suite.js';

const unavailable = nativeUnavailableReason();

/** The hash of the native sources in this tree (dist/test/ → the package root). */
const { sourceHash } = (await import(new URL('../../native/source-hash.mjs', import.meta.url).href)) as { sourceHash(): string };

describe('native backend: the addon under test', () => {
  it('loads, and was built from the C sources in this tree', () => {
    assert.equal(unavailable, null, `the native backend does not load: ${unavailable} (npm test rebuilds it)`);
    assert.equal(nativeAddon().sourceHash(), sourceHash(), 'the addon was built from other sources than native/*.c, *.h and binding.gyp');
  });
});

let native: NativeBackend | null = null;
function nat(): NativeBackend {
  native ??= new NativeBackend({ threads: 2 });
  return native;
}

compiledBackendSuite('native backend', nat, () => (unavailable === null ? nat().isaLevels() : ['portable']), false);

describe('native backend: worker threads', () => {
  it('workers that loaded the addon and computed on its thread pool can end, and the main thread computes after them', () => {
    // In a fresh process whose main thread loads the addon only after the workers have ended (Node then
    // unloads it with each worker): the pool's threads must not outlive the addon.
    const native = new URL('../src/backend/native.js', import.meta.url).href;
    const product = `const be = new NativeBackend({ threads: 2 });
      const a = new Float32Array(64 * 64).fill(1), c = new Float32Array(64 * 64);
      be.matmul(c, a, a, 64, 64, 64, false, false, false);`;
    const worker = `(async () => {
      const { NativeBackend } = await import(${JSON.stringify(native)});
      ${product}
      (await import('node:worker_threads')).parentPort.postMessage(c[4095]);
    })();`;
    const script = `import { Worker } from 'node:worker_threads';
      const sums = [];
      for (let i = 0; i < 3; i++) {
        const w = new Worker(${JSON.stringify(worker)}, { eval: true });
        w.on('message', (x) => sums.push(x));
        await new Promise((resolve, reject) => { w.on('exit', resolve); w.on('error', reject); });
      }
      const { NativeBackend } = await import(${JSON.stringify(native)});
      ${product}
      console.log([...sums, c[4095]].join(' '));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.signal, null, `the process died or hung (signal ${r.signal}); stderr: ${r.stderr}`);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), '64 64 64 64');
  });
});

describe('native backend: selection and controls', () => {
  it('selectBackend picks native by default and by name, reference by name, and rejects unknown names', () => {
    assert.equal(selectBackend(undefined, { threads: 1 }).name, 'native');
    assert.equal(selectBackend('native', { threads: 2 }).name, 'native');
    assert.equal(selectBackend('reference').name, 'reference');
    assert.throws(() => selectBackend('cuda'), (e: unknown) => e instanceof InputError && /unknown backend 'cuda'/.test(e.message));
  });

  it('takes the thread count from options or SWAT_THREADS and rejects bad values in one line', () => {
    const saved = process.env['SWAT_THREADS'];
    try {
      process.env['SWAT_THREADS'] = '1';
      assert.equal((selectBackend('native') as NativeBackend).threads, 1);
      process.env['SWAT_THREADS'] = 'two';
      assert.throws(() => selectBackend('native'), (e: unknown) => e instanceof InputError && /SWAT_THREADS = two/.test(e.message));
      assert.equal((selectBackend('native', { threads: 2 }) as NativeBackend).threads, 2);
    } finally {
      if (saved === undefined) delete process.env['SWAT_THREADS'];
      else process.env['SWAT_THREADS'] = saved;
    }
  });

  it('lists its instruction-set levels, switches between them and refuses unknown ones', () => {
    const be = nat();
    const lv = be.isaLevels();
    assert.equal(lv[0], 'portable');
    be.setIsa('portable');
    assert.equal(be.isa, 'portable');
    be.setIsa(lv.at(-1)!);
    assert.equal(be.isa, lv.at(-1));
    assert.throws(() => be.setIsa('sse9'), InputError);
    if (!lv.includes('avx512')) assert.throws(() => new NativeBackend({ isa: 'avx512' }), /not supported/);
  });

  it('measures a positive FMA peak', () => {
    const g = nat().peakFlops(0.05, 1);
    assert.ok(Number.isFinite(g) && g > 0.1, `peak ${g} GFLOP/s`);
  });
});

describe('native backend: argument checks throw instead of crashing', () => {
  const oneLine = (re: RegExp) => (e: unknown) => e instanceof InputError && re.test(e.message) && !e.message.includes('\n');

  it('rejects Float64Array buffers: it computes in float32 only', () => {
    const be = nat();
    assert.throws(() => be.add(new Float64Array(4), new Float64Array(4), new Float64Array(4), 4), oneLine(/Float64Array/));
  });

  it('rejects buffers too short for the dimensions', () => {
    const be = nat();
    const a = new Float32Array(6);
    assert.throws(() => be.matmul(new Float32Array(5), a, a, 2, 3, 2, false, false, false), oneLine(/native\.matmul: C has 5 elements, the dimensions need 6/));
    assert.throws(() => be.rmsnormForward(a, a, a, a, 2, 4, 1e-6), oneLine(/out has 6 elements/));
    const s = { B: 1, Tq: 2, Tk: 2, kvStride: 2, H: 1, Dh: 4, window: 2, activation: 'sigmoid' as const, slopes: new Float32Array(1), bias: 0 };
    assert.throws(() => be.attentionForward(new Float32Array(8), new Float32Array(2), new Float32Array(8), new Float32Array(7), new Float32Array(8), s), oneLine(/k has 7 elements/));
  });

  it('rejects impossible shapes, ids and targets', () => {
    const be = nat();
    const buf = new Float32Array(64);
    const s = { B: 1, Tq: 4, Tk: 3, kvStride: 3, H: 1, Dh: 2, window: 2, activation: 'sigmoid' as const, slopes: new Float32Array(1), bias: 0 };
    assert.throws(() => be.attentionForward(buf, buf, buf, buf, buf, s), oneLine(/Tq = 4/));
    assert.throws(() => be.attentionForward(buf, buf, buf, buf, buf, { ...s, Tq: 3, window: 0 }), oneLine(/window = 0/));
    assert.throws(() => be.crossEntropyForward(buf, buf, Int32Array.of(4), 1, 4), oneLine(/targets\[0\] = 4/));
    assert.throws(() => be.embeddingForward(buf, f32Weight(new Float32Array(6), 2, 3), Int32Array.of(0, 2), 2), oneLine(/ids\[1\] = 2/));
    assert.throws(() => be.rope(buf, 1, 1, 1, 3, 0, 10000, false), oneLine(/Dh = 3/));
    assert.throws(() => be.matmul(buf, buf, buf, 1.5, 1, 1, false, false, false), oneLine(/M = 1\.5/));
  });
});
