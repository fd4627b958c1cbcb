// npm install hook: builds the native backend with node-gyp, and never fails the install. Without a C
// compiler (or with a failing build) the package still installs; the backend selector then says once that
// the native backend is unavailable and uses the reference backend.
//
// node-gyp normally downloads Node's headers; when this Node installation ships its own (include/node
// next to the binary, as distribution packages and the official tarballs do), they are used instead, so
// the build also works offline.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function nodeGypCommand() {
  // npm tells lifecycle scripts where its bundled node-gyp is; otherwise look on PATH.
  const bundled = process.env.npm_config_node_gyp;
  if (bundled && existsSync(bundled)) return [process.execPath, [bundled]];
  return ['node-gyp', []];
}

function localHeaders() {
  const prefix = resolve(dirname(process.execPath), '..');
  return existsSync(join(prefix, 'include', 'node', 'node_api.h')) && existsSync(join(prefix, 'include', 'node', 'common.gypi'))
    ? prefix
    : null;
}

const [cmd, pre] = nodeGypCommand();
const args = [...pre, 'rebuild'];
const nodedir = localHeaders();
if (nodedir) args.push(`--nodedir=${nodedir}`);

const result = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', shell: process.platform === 'win32' });
const log = `${result.stdout ?? ''}${result.stderr ?? ''}${result.error ? String(result.error) : ''}`;
mkdirSync(join(root, 'build'), { recursive: true });
writeFileSync(join(root, 'build', 'native-build.log'), `$ ${cmd} ${args.join(' ')}\n${log}`);
if (result.status === 0) {
  console.log('swat: native backend built (build/Release/swat_native.node)');
} else {
  console.log(
    'swat: native backend not built (no C compiler or node-gyp failed; see build/native-build.log): ' +
      'the reference backend will be used',
  );
}
process.exit(0);
