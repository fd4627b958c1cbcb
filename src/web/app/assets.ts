// Where the bundle's parts are served, next to the page (src/web/build.ts writes them there).

const here = (path: string) => new URL(path, document.baseURI).href;

export const ASSETS = {
  trainWorker: here('train-worker.js'),
  engineWorker: here('engine-worker.js'),
  wasm: { modules: here('wasm/'), worker: here('wasm-worker.js') },
  /** A public-domain book served by `swat web` to try training on. */
  sample: here('sample.txt'),
  /** The model `swat web --model DIR` serves: {name, files} (null without one), then each file by name. */
  servedModel: here('model/files.json'),
  servedFile: (name: string) => here(`model/${encodeURIComponent(name)}`),
};
