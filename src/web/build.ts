// Bundles the web app into dist/web/ with esbuild (a dev dependency, so a clone's `npm install` builds it;
// a published package ships the bundle): the page's script, its training worker, the library's engine
// worker (src/api/browser-worker.ts), the wasm backend's thread worker, the page's HTML and CSS, and the
// committed wasm modules. The bundle targets the browser: a module that imports Node (node:fs, the native
// addon, worker_threads) fails the build, so nothing Node-only reaches the page. Warnings fail it too.
//
// Run as `node dist/src/web/build.js` (npm run build:web; npm install and npm test run it).

import { copyFileSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { WEB_DIR } from './server.js';

const ROOT = new URL('../../../', import.meta.url); // from dist/src/web/

const ENTRY_POINTS = {
  main: 'src/web/app/main.ts',
  'train-worker': 'src/web/app/train-worker.ts',
  'engine-worker': 'src/api/browser-worker.ts',
  'wasm-worker': 'src/backend/wasm/worker-browser.ts',
};
const STATIC_FILES = ['src/web/app/index.html', 'src/web/app/style.css'];
const MODULES = 'native/wasm/modules/';

export async function buildWebApp(out = WEB_DIR): Promise<void> {
  const at = (path: string) => fileURLToPath(new URL(path, ROOT));
  rmSync(out, { recursive: true, force: true });
  const result = await build({
    entryPoints: Object.fromEntries(Object.entries(ENTRY_POINTS).map(([name, path]) => [name, at(path)])),
    outdir: out,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    sourcemap: 'linked',
    legalComments: 'linked',
    logLevel: 'silent',
  });
  if (result.warnings.length > 0) throw new Error(`the web bundle has warnings: ${result.warnings.map((w) => w.text).join('; ')}`);
  for (const file of STATIC_FILES) copyFileSync(at(file), `${out}/${file.slice(file.lastIndexOf('/') + 1)}`);
  mkdirSync(`${out}/wasm`);
  for (const file of readdirSync(at(MODULES))) if (file.endsWith('.wasm')) copyFileSync(at(MODULES + file), `${out}/wasm/${file}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  buildWebApp().then(
    () => process.stdout.write(`swat: web app bundled into ${WEB_DIR}\n`),
    (e: Error) => {
      process.stderr.write(`swat: the web app does not bundle: ${e.message}\n`);
      process.exit(1);
    },
  );
}
