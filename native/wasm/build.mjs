// Builds the WebAssembly modules of the backend (`npm run build:wasm`) from the native kernels (native/*.c)
// and the WebAssembly runtime (native/wasm/*.c), with LLVM's clang and wasm-ld, version 19 (Debian:
// `apt-get install clang-19 lld-19`). Four modules: SIMD128 or relaxed SIMD (fused multiply-add), each with
// threads (atomics, shared memory) or without (one thread, for pages that are not cross-origin isolated).
// The modules are committed, so installing swat needs no WebAssembly toolchain; the build is deterministic
// (no paths, no timestamps: the same compiler gives the same bytes), which test/wasm-build.test.ts checks.
//
// Usage: node native/wasm/build.mjs [--out DIR] [--clang PATH]   (default: native/wasm/modules, clang-19)

import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');

/** The module files, by variant; src/backend/wasm/modules.ts names the same files. */
export const VARIANTS = [
  { file: 'swat-simd128.wasm', relaxed: false, threads: false },
  { file: 'swat-simd128-threads.wasm', relaxed: false, threads: true },
  { file: 'swat-relaxed-simd.wasm', relaxed: true, threads: false },
  { file: 'swat-relaxed-simd-threads.wasm', relaxed: true, threads: true },
];

/** The shared kernels, then the WebAssembly runtime, its SIMD kernels and its exports. */
const SOURCES = [
  'native/attention.c', 'native/cpu.c', 'native/decode_portable.c', 'native/kernels_portable.c', 'native/linear.c',
  'native/loss.c', 'native/matmul.c', 'native/norm.c', 'native/optim.c', 'native/pool_common.c',
  'native/wasm/exports.c', 'native/wasm/kernels_simd128.c', 'native/wasm/runtime.c',
];

/** Memory the module starts with: its data and the 1 MiB stack of the calling thread, below the heap. The
 *  host creates the memory with exactly this much (src/backend/wasm/runtime.ts). */
export const INITIAL_MEMORY = 2 * 1024 * 1024;
const STACK_SIZE = 1024 * 1024;

function flags(v) {
  const features = ['-mcpu=mvp', '-msimd128', '-mbulk-memory', '-mnontrapping-fptoint', '-msign-ext', '-mmutable-globals'];
  if (v.relaxed) features.push('-mrelaxed-simd');
  if (v.threads) features.push('-matomics');
  const link = [
    '--no-entry', '--import-memory', '--stack-first', `-zstack-size=${STACK_SIZE}`, `--initial-memory=${INITIAL_MEMORY}`,
    '--strip-debug',
  ];
  // Threads: the memory is shared and every worker sets up its own stack and thread-local area.
  if (v.threads) {
    link.push('--shared-memory', '--max-memory=4294967296',
      '--export=__stack_pointer', '--export=__wasm_init_tls', '--export=__tls_size', '--export=__tls_align');
  }
  return [
    '--target=wasm32', '-O3', '-std=c11', '-Wall', '-Wextra', '-Werror', ...features,
    '-nostdlib', '-nostdlibinc', '-isystem', 'native/wasm/libc',
    ...link.map((f) => `-Wl,${f}`),
  ];
}

/** The compiler's version line, e.g. "Debian clang version 19.1.7 (3~deb12u1)". */
export function clangVersion(clang) {
  const r = spawnSync(clang, ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) throw new Error(`${clang} --version failed: ${r.error?.message ?? r.stderr}`);
  return r.stdout.split('\n')[0].trim();
}

/** Runs the compiler; resolves when it succeeded. */
function compile(clang, args) {
  return new Promise((done, fail) => {
    const child = spawn(clang, args, { cwd: root, stdio: ['ignore', 'inherit', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.on('error', (e) => fail(new Error(`${clang}: ${e.message}`)));
    child.on('close', (code) => (code === 0 ? done() : fail(new Error(`${clang} ${args.join(' ')}\n${err}`))));
  });
}

/** Builds every variant into `out` (the four compilers run at once); returns the files written. */
export async function build(out, clang = 'clang-19') {
  const version = clangVersion(clang);
  if (!/clang version 19\./.test(version)) throw new Error(`${clang} is '${version}', expected clang 19`);
  mkdirSync(out, { recursive: true });
  const scratch = mkdtempSync(join(tmpdir(), 'swat-wasm-'));
  try {
    return await Promise.all(VARIANTS.map(async (v) => {
      const tmp = join(scratch, v.file);
      await compile(clang, [...flags(v), ...SOURCES, '-o', tmp]);
      const dest = join(out, v.file);
      install(tmp, dest);
      return dest;
    }));
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** Puts the built file in place in one step: written beside its destination, then renamed over it. */
function install(from, to) {
  const staged = `${to}.tmp`;
  writeFileSync(staged, readFileSync(from));
  renameSync(staged, to);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const opt = (name, dflt) => {
    const i = args.indexOf(name);
    return i >= 0 && args[i + 1] ? args[i + 1] : dflt;
  };
  const out = resolve(opt('--out', join(here, 'modules')));
  try {
    for (const file of await build(out, opt('--clang', 'clang-19'))) {
      console.log(`${relative(process.cwd(), file)}: ${readFileSync(file).length} bytes`);
    }
  } catch (e) {
    console.error(`build:wasm: ${e.message}`);
    process.exit(1);
  }
}
