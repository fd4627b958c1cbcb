// The web app's page: the header's environment badges (cross-origin isolation, which gives the wasm backend
// its threads; the SIMD level), the two tabs, and the model `swat web --model DIR` serves, loaded into the
// Generate tab at start. The panels do the work (train-panel.ts, generate-panel.ts).

import { bestSimd, sharedMemoryAvailable } from '../../backend/wasm/modules.js';
import { byId, messageOf, setStatus } from './dom.js';
import { GeneratePanel } from './generate-panel.js';
import { fromServer } from './model-files.js';
import { TrainPanel } from './train-panel.js';

type Tab = 'train' | 'generate';

function showTab(tab: Tab): void {
  for (const t of ['train', 'generate'] as const) {
    byId(`tab-${t}`).setAttribute('aria-selected', String(t === tab));
    byId(`panel-${t}`).hidden = t !== tab;
  }
}

function describeEnvironment(): void {
  const threads = crossOriginIsolated && sharedMemoryAvailable();
  const isolation = byId('env-isolation');
  isolation.textContent = threads ? `cross-origin isolated: ${navigator.hardwareConcurrency} threads` : 'not cross-origin isolated: one thread';
  isolation.classList.add(threads ? 'good' : 'warn');
  byId('env-backend').textContent = `WebAssembly ${bestSimd() === 'relaxed-simd' ? 'relaxed SIMD' : 'SIMD128'}`;
}

const generate = new GeneratePanel();
const train = new TrainPanel((model) => {
  showTab('generate');
  void generate.load(model);
});
byId('tab-train').addEventListener('click', () => showTab('train'));
byId('tab-generate').addEventListener('click', () => showTab('generate'));
byId('model-trained').addEventListener('click', () => void train.handOver());
describeEnvironment();

fromServer().then((served) => {
  if (served === null) return;
  showTab('generate');
  void generate.load(served);
}, (e) => setStatus(byId('model-status'), messageOf(e), true));
