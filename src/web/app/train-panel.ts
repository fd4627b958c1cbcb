// The Train tab: the text (pasted, added from files or dropped, or the sample book), the architecture knobs
// of `swat init`, the training options, and a training worker (train-worker.ts) that runs the same step as
// `swat train`, with a live loss chart, pause and resume. The model it trains can be downloaded or saved as
// a model directory, or handed to the Generate tab.

import { type SwatConfig, makeConfig, parameterCount, receptiveField } from '../../config.js';
import type { AttentionActivation } from '../../backend/backend.js';
import type { SessionSpec, TokenizerChoice } from '../../train/session.js';
import { ASSETS } from './assets.js';
import { LineChart } from './chart.js';
import { byId, formatCount, intField, messageOf, numberField, setStatus } from './dom.js';
import type { PickedModel } from './model-files.js';
import { type ModelFiles, canSaveToFolder, downloadZip, saveToFolder } from './save.js';
import type { FromTrainer, ToTrainer } from './train-protocol.js';

type State = 'idle' | 'preparing' | 'running' | 'pausing' | 'paused' | 'done' | 'failed';

const FOLDER = 'swat-model';

export class TrainPanel {
  private worker: Worker | null = null;
  private state: State = 'idle';
  private losses: [number, number][] = [];
  private valLosses: [number, number][] = [];
  private prepared = '';
  private filesWanted: { resolve: (files: ModelFiles) => void; reject: (e: Error) => void }[] = [];
  private readonly text = byId<HTMLTextAreaElement>('train-text');
  private readonly status = byId('train-status');
  private readonly progress = byId<HTMLProgressElement>('train-progress');
  private readonly startButton = byId<HTMLButtonElement>('train-start');
  private readonly pauseButton = byId<HTMLButtonElement>('train-pause');
  private readonly resetButton = byId<HTMLButtonElement>('train-reset');
  private readonly saveStatus = byId('save-status');
  private readonly lossRows = byId<HTMLTableElement>('loss-table').tBodies[0]!;
  private readonly chart = new LineChart(byId<HTMLCanvasElement>('loss-chart'), { xLabel: 'step', yLabel: 'loss (nats per token)' });

  /** `useModel` hands a trained model to the Generate tab. */
  constructor(private readonly useModel: (model: PickedModel) => void) {
    this.text.addEventListener('input', () => this.describeText());
    byId<HTMLInputElement>('train-files').addEventListener('change', (e) => {
      const input = e.target as HTMLInputElement;
      void this.addFiles(Array.from(input.files ?? [])).finally(() => (input.value = ''));
    });
    this.text.addEventListener('dragover', (e) => e.preventDefault());
    this.text.addEventListener('drop', (e) => {
      e.preventDefault();
      void this.addFiles(Array.from(e.dataTransfer?.files ?? []));
    });
    byId('train-sample').addEventListener('click', () => void this.loadSample());
    for (const id of ['arch-layers', 'arch-dim', 'arch-heads', 'arch-window', 'arch-attention', 'arch-alibi', 'arch-tokenizer', 'arch-rope']) {
      byId(id).addEventListener('change', () => this.describeArchitecture());
    }
    // SWAT trains on sequences longer than its window (4ω by default, as swat train does).
    byId('arch-window').addEventListener('change', () => (byId<HTMLInputElement>('train-seq').value = String(4 * intField('arch-window'))));
    this.startButton.addEventListener('click', () => this.start());
    this.pauseButton.addEventListener('click', () => this.togglePause());
    this.resetButton.addEventListener('click', () => this.reset());
    byId('save-zip').addEventListener('click', () => void this.save('zip'));
    const folder = byId<HTMLButtonElement>('save-folder');
    folder.hidden = !canSaveToFolder();
    folder.addEventListener('click', () => void this.save('folder'));
    byId('use-trained').addEventListener('click', () => void this.handOver());
    this.describeText();
    this.describeArchitecture();
    this.drawChart();
  }

  /** The trained model's files, when there is a run to take them from. */
  get hasModel(): boolean {
    return this.worker !== null && ['paused', 'done'].includes(this.state);
  }

  private async addFiles(files: File[]): Promise<void> {
    const texts = await Promise.all(files.map((f) => f.text()));
    const current = this.text.value.trim();
    this.text.value = [current, ...texts.map((t) => t.trim())].filter((t) => t !== '').join('\n\n');
    this.describeText();
  }

  private async loadSample(): Promise<void> {
    const info = byId('train-text-info');
    setStatus(info, 'Fetching the sample…');
    try {
      const r = await fetch(ASSETS.sample);
      if (!r.ok) throw new Error(`the sample text: HTTP ${r.status}`);
      this.text.value = await r.text();
      this.describeText();
    } catch (e) {
      setStatus(info, messageOf(e), true);
    }
  }

  private describeText(): void {
    const n = this.text.value.length;
    setStatus(byId('train-text-info'), n === 0 ? 'No text yet.' : `${formatCount(n)} characters.`);
  }

  private tokenizerChoice(): TokenizerChoice {
    const v = byId<HTMLSelectElement>('arch-tokenizer').value;
    return v === 'byte' ? { kind: 'byte' } : { kind: 'bpe', vocabSize: Number(v.slice(4)) };
  }

  private architecture(): SessionSpec['architecture'] {
    return {
      layers: intField('arch-layers'), dim: intField('arch-dim'), heads: intField('arch-heads'), window: intField('arch-window'),
      attention: byId<HTMLSelectElement>('arch-attention').value as AttentionActivation,
      alibi: byId<HTMLSelectElement>('arch-alibi').value, rope: byId<HTMLInputElement>('arch-rope').checked,
    };
  }

  /** The parameter count and receptive field, or why the architecture is not valid. */
  private describeArchitecture(): void {
    const info = byId('arch-info');
    const t = this.tokenizerChoice();
    let config: SwatConfig;
    try {
      config = makeConfig({ ...this.architecture(), vocabSize: t.kind === 'byte' ? 258 : t.vocabSize });
    } catch (e) {
      setStatus(info, messageOf(e), true);
      return;
    }
    const field = receptiveField(config);
    setStatus(info, `${(parameterCount(config) / 1e6).toFixed(2)} M parameters${t.kind === 'bpe' ? ' (at most)' : ''}; ` +
      `each token sees ${config.window_size} tokens per layer, ${field === null ? 'the whole text' : `${formatCount(field)} tokens back`} through the ${config.num_hidden_layers} layers.`);
  }

  private spec(): SessionSpec {
    const steps = intField('train-steps');
    return {
      texts: [this.text.value],
      tokenizer: this.tokenizerChoice(),
      architecture: this.architecture(),
      train: {
        seqLen: intField('train-seq'), batchSize: intField('train-batch'), gradAccum: 1, maxSteps: steps,
        lr: numberField('train-lr'), minLr: numberField('train-lr') / 10, warmupSteps: Math.min(intField('train-warmup'), steps),
        weightDecay: 0.1, beta1: 0.9, beta2: 0.95, adamEps: 1e-8, gradClip: 1, evalInterval: intField('train-eval'),
        evalBatches: 2, checkpointInterval: 0, seed: intField('train-seed'),
      },
    };
  }

  private start(): void {
    this.reset();
    const worker = new Worker(ASSETS.trainWorker, { type: 'module' });
    this.worker = worker;
    worker.onmessage = (e: MessageEvent<FromTrainer>) => this.onMessage(e.data);
    worker.onerror = (e) => this.fail(e.message || 'the training worker failed');
    const spec = this.spec();
    this.chart.setXMax(spec.train.maxSteps);
    this.setState('preparing');
    setStatus(this.status, spec.tokenizer.kind === 'bpe' ? 'Learning the vocabulary and preparing the model…' : 'Preparing the model…');
    this.post({ type: 'start', spec, wasm: ASSETS.wasm });
  }

  private post(m: ToTrainer): void {
    this.worker?.postMessage(m);
  }

  private onMessage(m: FromTrainer): void {
    switch (m.type) {
      case 'prepared':
        this.prepared = `${(m.parameters / 1e6).toFixed(2)} M parameters, ${formatCount(m.vocabSize)} tokens in the vocabulary; ` +
          `${formatCount(m.trainTokens)} training and ${formatCount(m.valTokens)} held-out tokens; ${m.backend}, ${m.threads} thread${m.threads === 1 ? '' : 's'}`;
        this.setState('running');
        setStatus(this.status, this.prepared);
        break;
      case 'step': {
        this.losses.push([m.step, m.loss]);
        this.lossRows.insertRow().append(cell(m.step), cell(m.loss.toFixed(4)), cell(''));
        const last = this.valLosses.at(-1);
        const val = last ? ` · validation ${last[1].toFixed(3)}` : '';
        setStatus(this.status, `step ${m.step} of ${m.maxSteps} · loss ${m.loss.toFixed(3)}${val} · ${formatCount(Math.round(m.tokensPerSecond))} tokens/s · ${m.elapsed.toFixed(1)} s` +
          (m.skipped ? ` · step skipped: ${m.skipped}` : ''));
        this.status.dataset['step'] = String(m.step);
        this.progress.value = m.step / m.maxSteps;
        if (m.step % 5 === 0 || m.step === m.maxSteps) this.drawChart();
        break;
      }
      case 'eval':
        this.valLosses.push([m.step, m.valLoss]);
        this.lossRows.rows[m.step - 1]!.cells[2]!.textContent = m.valLoss.toFixed(4);
        this.drawChart();
        break;
      case 'paused':
        this.setState('paused');
        setStatus(this.status, `paused at step ${m.step}: ${this.prepared}`);
        break;
      case 'done':
        this.setState('done');
        this.drawChart();
        setStatus(this.status, `done: ${m.step} steps, validation loss ${this.valLosses.at(-1)?.[1].toFixed(3) ?? '?'} nats per token · ${this.prepared}`);
        this.status.dataset['done'] = String(m.step);
        break;
      case 'files':
        for (const w of this.filesWanted.splice(0)) w.resolve(m.files);
        break;
      case 'error':
        this.fail(m.message);
        break;
    }
  }

  private fail(message: string): void {
    this.setState(this.losses.length > 0 ? 'paused' : 'failed');
    if (this.losses.length === 0) this.worker?.terminate();
    setStatus(this.status, message, true);
    for (const w of this.filesWanted.splice(0)) w.reject(new Error(message));
  }

  private togglePause(): void {
    if (this.state === 'running') {
      this.setState('pausing');
      this.post({ type: 'pause' });
    } else if (this.state === 'paused') {
      this.setState('running');
      this.post({ type: 'resume' });
    }
  }

  private reset(): void {
    this.worker?.terminate();
    this.worker = null;
    this.losses = [];
    this.valLosses = [];
    this.lossRows.replaceChildren();
    this.progress.value = 0;
    delete this.status.dataset['done'];
    delete this.status.dataset['step'];
    this.setState('idle');
    setStatus(this.status, 'Set up the text and the model, then press Train.');
    setStatus(this.saveStatus, '');
    this.drawChart();
  }

  private setState(state: State): void {
    this.state = state;
    const active = state === 'preparing' || state === 'running' || state === 'pausing';
    this.startButton.disabled = active;
    this.startButton.textContent = state === 'idle' || state === 'failed' ? 'Train' : 'Train again';
    this.pauseButton.disabled = !(state === 'running' || state === 'paused');
    this.pauseButton.textContent = state === 'paused' ? 'Resume' : 'Pause';
    this.resetButton.disabled = state === 'idle';
    for (const id of ['save-zip', 'save-folder', 'use-trained']) byId<HTMLButtonElement>(id).disabled = !this.hasModel;
    byId<HTMLButtonElement>('model-trained').disabled = !this.hasModel;
  }

  private drawChart(): void {
    this.chart.setSeries([
      { name: 'training loss', color: '#2f5fd0', points: this.losses },
      { name: 'validation loss', color: '#e07a1f', points: this.valLosses, dots: true },
    ]);
  }

  /** The model directory's files at the current step. */
  files(): Promise<ModelFiles> {
    return new Promise((resolve, reject) => {
      this.filesWanted.push({ resolve, reject });
      this.post({ type: 'files' });
    });
  }

  /** Gives the model at its current step to the Generate tab. */
  async handOver(): Promise<void> {
    try {
      this.useModel(trainedModel(await this.files()));
    } catch (e) {
      setStatus(this.saveStatus, messageOf(e), true);
    }
  }

  private async save(how: 'zip' | 'folder'): Promise<void> {
    try {
      const files = await this.files();
      if (how === 'zip') {
        downloadZip(files, FOLDER);
        setStatus(this.saveStatus, `Downloaded ${FOLDER}.zip: unzip it and run swat generate -m ${FOLDER}`);
      } else {
        const name = await saveToFolder(files);
        if (name !== null) setStatus(this.saveStatus, `Saved ${Object.keys(files).length} files into the folder ${name}.`);
      }
    } catch (e) {
      setStatus(this.saveStatus, messageOf(e), true);
    }
  }
}

function cell(text: string | number): HTMLTableCellElement {
  const td = document.createElement('td');
  td.textContent = String(text);
  return td;
}

function trainedModel(files: ModelFiles): PickedModel {
  const blobs = new Map<string, Blob>();
  for (const [name, data] of Object.entries(files)) blobs.set(name, new Blob([data as BlobPart]));
  return { name: 'trained here', files: blobs };
}
