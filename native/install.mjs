// Builds the native backend (build/Release/swat_native.node) with node-gyp. Two modes:
//
//   node native/install.mjs           the npm install hook: never fails the install. Without a C compiler (or
//                                     with a failing build) the package still installs; the backend selector
//                                     then says once that the native backend is unavailable and uses the
//                                     wasm backend (its modules ship built in native/wasm/modules/).
//   node native/install.mjs --strict  run by `npm test` (and so by CI): makes sure the addon was built from
//                                     the sources in the tree (native/source-hash.mjs), rebuilding it when it
//                                     is missing or stale, and exits 1 with the compiler's errors when that
//                                     build fails, so edited C is never tested against an old binary.
//
// node-gyp normally downloads Node's headers; when this Node installation ships its own (include/node
// next to the binary, as distribution packages and the official tarballs do), they are used instead, so
// the build also works offline.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ROOT, sourceHash } from './source-hash.mjs';

const ADDON = join(ROOT, 'build', 'Release', 'swat_native.node');
const LOG = join(ROOT, 'build', 'native-build.log');
const LOG_NAME = 'build/native-build.log';

function nodeGypCommand() {
  // npm tells lifecycle scripts where its bundled node-gyp is; outside npm, npm's own copy beside this Node
  // installation; otherwise look on PATH.
  const bundled = process.env.npm_config_node_gyp;
  if (bundled && existsSync(bundled)) return [process.execPath, [bundled]];
  const besideNode = join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  if (existsSync(besideNode)) return [process.execPath, [besideNode]];
  return ['node-gyp', []];
}

function localHeaders() {
  const prefix = resolve(dirname(process.execPath), '..');
  return existsSync(join(prefix, 'include', 'node', 'node_api.h')) && existsSync(join(prefix, 'include', 'node', 'common.gypi'))
    ? prefix
    : null;
}

/** Runs `node-gyp rebuild`; the whole output goes to build/native-build.log. */
function build() {
  const [cmd, pre] = nodeGypCommand();
  const args = [...pre, 'rebuild'];
  const nodedir = localHeaders();
  if (nodedir) args.push(`--nodedir=${nodedir}`);
  const result = spawnSync(cmd, args, { cwd: ROOT, encoding: 'utf8', shell: process.platform === 'win32' });
  const log = `${result.stdout ?? ''}${result.stderr ?? ''}${result.error ? String(result.error) : ''}`;
  mkdirSync(dirname(LOG), { recursive: true });
  writeFileSync(LOG, `$ ${cmd} ${args.join(' ')}\n${log}`);
  return { ok: result.status === 0, log };
}

/** The source hash the built addon reports, or why there is none. Loaded in a child process: a process can
 *  load a given addon file only once, and the one here may be replaced by a rebuild. */
function builtHash() {
  if (!existsSync(ADDON)) return { hash: null, why: 'not built' };
  const r = spawnSync(process.execPath, ['-e', `process.stdout.write(require(${JSON.stringify(ADDON)}).sourceHash?.() ?? '')`], { encoding: 'utf8' });
  if (r.status !== 0) return { hash: null, why: `does not load: ${(r.stderr.split('\n').find((l) => /Error/.test(l)) ?? r.stderr).trim()}` };
  return { hash: r.stdout, why: r.stdout ? `built from other sources (${r.stdout.slice(0, 12)})` : 'carries no source hash' };
}

/** The lines of a build log that say what went wrong (compiler and linker errors, node-gyp's own). */
function errorLines(log) {
  const lines = log.split('\n').filter((l) => /error|Error|ENOENT|not found/.test(l) && !/^gyp info/.test(l));
  return (lines.length ? lines : log.trimEnd().split('\n').slice(-20)).slice(0, 40);
}

function strict() {
  const want = sourceHash();
  const before = builtHash();
  if (before.hash === want) {
    console.log(`swat: native backend is built from the current sources (${want.slice(0, 12)})`);
    return 0;
  }
  console.log(`swat: native backend ${before.why}; rebuilding from the current sources (${want.slice(0, 12)})`);
  const r = build();
  const after = r.ok ? builtHash() : null;
  if (after?.hash === want) {
    console.log('swat: native backend rebuilt (build/Release/swat_native.node)');
    return 0;
  }
  const why = r.ok ? [`the new addon ${after.why}, the sources hash to ${want.slice(0, 12)}`] : errorLines(r.log);
  console.error(`swat: error: the native backend does not build from the current sources (full log: ${LOG_NAME}):`);
  for (const line of why) console.error(`  ${line}`);
  return 1;
}

function lenient() {
  if (build().ok) {
    console.log('swat: native backend built (build/Release/swat_native.node)');
  } else {
    console.log(
      `swat: native backend not built (no C compiler or node-gyp failed; see ${LOG_NAME}): ` +
        'the wasm backend will be used',
    );
  }
  return 0;
}

process.exit(process.argv.includes('--strict') ? strict() : lenient());
