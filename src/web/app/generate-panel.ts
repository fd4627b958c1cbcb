// The Generate tab: loads a model directory's files through the library's browser entry (src/api/
// browser.ts: the same engine as the CLI, in a Web Worker), streams a completion with the sampling
// controls, scores the prompt, and plots the window cache's bytes, which stay constant, against what a
// full-attention cache would hold for the same text.

import { loadFromFiles } from '../../api/browser.js';
import type { TextModel } from '../../api/text-model.js';
import { parameterCount, receptiveField } from '../../config.js';
import { ASSETS } from './assets.js';
import { LineChart } from './chart.js';
import { byId, formatBytes, formatCount, intField, messageOf, numberField, setStatus } from './dom.js';
import { type PickedModel, fromDrop, fromFolderInput } from './model-files.js';

export class GeneratePanel {
  private model: TextModel | null = null;
  private running: AbortController | null = null;
  private readonly status = byId('model-status');
  private readonly genStatus = byId('gen-status');
  private readonly output = byId('gen-output');
  private readonly scoreResult = byId('score-result');
  private readonly start = byId<HTMLButtonElement>('gen-start');
  private readonly stop = byId<HTMLButtonElement>('gen-stop');
  private readonly score = byId<HTMLButtonElement>('gen-score');
  private readonly chart = new LineChart(byId<HTMLCanvasElement>('cache-chart'), {
    xLabel: 'tokens in the text', yLabel: 'KiB', yFromZero: true,
  });

  constructor() {
    byId<HTMLInputElement>('model-folder').addEventListener('change', (e) => {
      const input = e.target as HTMLInputElement;
      const picked = input.files ? fromFolderInput(input.files) : null;
      input.value = '';
      if (picked) void this.load(picked);
    });
    const drop = byId('model-drop');
    drop.addEventListener('dragover', (e) => {
      e.preventDefault();
      drop.classList.add('dragging');
    });
    drop.addEventListener('dragleave', () => drop.classList.remove('dragging'));
    drop.addEventListener('drop', (e) => {
      e.preventDefault();
      drop.classList.remove('dragging');
      if (e.dataTransfer) void fromDrop(e.dataTransfer).then((picked) => picked && this.load(picked), (err) => this.failed(err));
    });
    this.start.addEventListener('click', () => void this.generate());
    this.stop.addEventListener('click', () => this.running?.abort());
    this.score.addEventListener('click', () => void this.scorePrompt());
    this.chart.setSeries([]);
  }

  /** Loads a model (replacing the one loaded), from any of the page's sources. */
  async load(picked: PickedModel): Promise<void> {
    this.running?.abort();
    await this.model?.close();
    this.model = null;
    this.setBusy(true);
    setStatus(this.status, `Loading ${picked.name}…`);
    try {
      const model = await loadFromFiles(picked.files, { name: picked.name, worker: ASSETS.engineWorker, wasm: ASSETS.wasm, maxStreams: 1 });
      this.model = model;
      const c = model.config;
      const window = c.window_size === null ? 'full attention' : `window ${c.window_size}`;
      const field = receptiveField(c);
      setStatus(this.status, `${picked.name}: ${c.num_hidden_layers} layers, width ${c.hidden_size}, ${c.num_heads} heads, ${window}` +
        `${field === null ? '' : ` (sees ${formatCount(field)} tokens back)`}, ${formatCount(c.vocab_size)} tokens, ` +
        `${(parameterCount(c) / 1e6).toFixed(2)} M parameters; ${c.attention_activation} attention, on the ${model.backend} backend.`);
      this.status.dataset['loaded'] = picked.name;
    } catch (e) {
      this.failed(e);
    } finally {
      this.setBusy(false);
    }
  }

  private setBusy(busy: boolean): void {
    const ready = this.model !== null && !busy;
    this.start.disabled = !ready;
    this.score.disabled = !ready;
    this.stop.disabled = !busy || this.running === null;
  }

  private failed(e: unknown): void {
    setStatus(this.status, messageOf(e), true);
  }

  private async generate(): Promise<void> {
    const model = this.model;
    if (!model) return;
    const prompt = byId<HTMLTextAreaElement>('gen-prompt').value;
    const controller = new AbortController();
    this.running = controller;
    this.setBusy(true);
    this.output.replaceChildren();
    const shown = document.createElement('span');
    shown.className = 'prompt';
    shown.textContent = prompt;
    const text = document.createElement('span');
    this.output.append(shown, text);
    delete this.output.dataset['done'];
    const c = model.config;
    // A full-attention cache holds keys and values of every token: 2 · layers · width floats each.
    const fullPerToken = 2 * c.num_hidden_layers * c.hidden_size * 4;
    const cachePoints: [number, number][] = [];
    const fullPoints: [number, number][] = [];
    let promptTokens = 0;
    let generated = 0;
    const t0 = performance.now();
    const topK = intField('gen-topk');
    const options = model.streamOptions({
      maxTokens: intField('gen-tokens'), temperature: numberField('gen-temp'), topP: numberField('gen-topp'),
      minP: numberField('gen-minp'), repetitionPenalty: numberField('gen-rep'), seed: intField('gen-seed'),
      ...(topK > 0 ? { topK } : {}), signal: controller.signal,
    });
    let finish = 'stopped';
    try {
      for await (const e of model.events(prompt, options)) {
        if (e.type === 'start') {
          promptTokens = e.promptTokens;
          continue;
        }
        text.textContent += e.text;
        if (e.token !== null) generated++;
        if (e.finish) finish = e.finish === 'length' ? 'reached the token limit' : 'stopped at the end of text';
        const tokens = promptTokens + generated;
        const cache = model.stats().cacheBytes;
        if (cache > 0) {
          cachePoints.push([tokens, cache / 1024]);
          fullPoints.push([tokens, (tokens * fullPerToken) / 1024]);
        }
        const seconds = (performance.now() - t0) / 1000;
        setStatus(this.genStatus, `${formatCount(generated)} tokens, ${(generated / seconds).toFixed(1)} tokens/s · window cache ${formatBytes(cache)}`);
        if (generated % 8 === 0) this.plot(cachePoints, fullPoints);
        this.output.scrollTop = this.output.scrollHeight;
      }
    } catch (e) {
      if (!controller.signal.aborted) setStatus(this.genStatus, messageOf(e), true);
    } finally {
      this.plot(cachePoints, fullPoints);
      const seconds = (performance.now() - t0) / 1000;
      if (!this.genStatus.classList.contains('error')) {
        const cache = cachePoints.length > 0 ? cachePoints[cachePoints.length - 1]![1] * 1024 : 0;
        setStatus(this.genStatus, `${formatCount(generated)} tokens in ${seconds.toFixed(1)} s (${(generated / Math.max(seconds, 1e-3)).toFixed(1)} tokens/s), ${finish} · window cache ${formatBytes(cache)}`);
      }
      this.output.dataset['done'] = String(generated);
      this.running = null;
      this.setBusy(false);
    }
  }

  private plot(cache: [number, number][], full: [number, number][]): void {
    this.chart.setSeries([
      { name: 'full-attention cache', color: '#9aa5b5', points: full, dashed: true },
      { name: 'SWAT window cache', color: '#2f5fd0', points: cache },
    ]);
  }

  private async scorePrompt(): Promise<void> {
    const model = this.model;
    if (!model) return;
    this.setBusy(true);
    try {
      const s = await model.score(byId<HTMLTextAreaElement>('gen-prompt').value);
      const bpb = s.bitsPerByte === null ? '' : `, ${s.bitsPerByte.toFixed(3)} bits per byte`;
      setStatus(this.scoreResult, `${s.tokens.length} tokens: log-probability ${s.sum.toFixed(4)}, perplexity ${s.perplexity.toFixed(2)}${bpb}`);
      this.scoreResult.dataset['sum'] = String(s.sum);
    } catch (e) {
      setStatus(this.scoreResult, messageOf(e), true);
    } finally {
      this.setBusy(false);
    }
  }
}
