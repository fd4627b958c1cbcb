// Never losing a user's work, as a user runs swat: real processes, real files, real signals. Commands
// refuse to replace a model, tokenizer or checkpoint unless told (--force); a resume refuses flags that
// contradict its checkpoint; Ctrl-C and SIGTERM stop with a checkpoint from which the run ends
// bit-identical; a diverging run keeps its last finite checkpoint; the metrics log matches the checkpoint
// after a kill; one trainer per directory; readers beside a trainer never disturb it; a full disk is one
// line and leaves nothing half-written.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, test } from 'node:test';
import { decodeSafetensors } from '../src/io/safetensors.js';
import { readMetrics } from '../src/train/metrics.js';
import { readTrainerState } from '../src/train/trainer.js';
import { MAIN, fails, launch, ok, swat, swatWith, waitFor } from './support/cli.js';

const root = mkdtempSync(join(tmpdir(), 'swat-safety-'));
after(() => rmSync(root, { recursive: true, force: true }));
const arch = ['--layers', '2', '--dim', '16', '--heads', '2', '--window', '4', '--intermediate-size', '24'];
const corpus = join(root, 'corpus');
mkdirSync(corpus);
for (let i = 0; i < 4; i++) writeFileSync(join(corpus, `doc${i}.txt`), `Document ${i}: the cat sat on the mat. `.repeat(40));
const cache = ['--cache', join(root, 'cache')];

/** The flags of a small training run into `out`. */
function run(out: string, ...more: string[]): string[] {
  return ['train', '--data', corpus, '--out', out, ...cache, ...arch, '--seq-len', '16', '--batch-size', '2', '--sample-tokens', '0', ...more];
}

/** The training steps logged in `dir`'s metrics, in order. */
function loggedSteps(dir: string): number[] {
  return readMetrics(dir).filter((m) => m.loss !== undefined).map((m) => m.step);
}

function lastLine(text: string): string {
  return text.trimEnd().split('\n').pop()!;
}

test('init refuses to replace a model (or a run) without --force, and replaces it with it', () => {
  const dir = join(root, 'init');
  ok('init', '--out', dir, ...arch);
  const before = readFileSync(join(dir, 'model.safetensors'));
  fails(`${dir} already holds a model (config.json, model.safetensors, tokenizer.json): pass --force to replace it, or choose another --out`, 'init', '--out', dir, ...arch, '--seed', '1');
  assert.deepEqual(readFileSync(join(dir, 'model.safetensors')), before);
  ok('init', '--out', dir, ...arch, '--seed', '1', '--force');
  assert.notDeepEqual(readFileSync(join(dir, 'model.safetensors')), before);
  // Over a training run, --force leaves a plain model: no checkpoint that would pair old state with new weights.
  const trained = join(root, 'init-over-run');
  ok(...run(trained, '--steps', '2'));
  fails(new RegExp(`^swat: error: ${trained} already holds a model and a training checkpoint \\(config\\.json, model\\.safetensors, tokenizer\\.json, optimizer\\.safetensors, trainer_state\\.json\\): pass --force`), 'init', '--out', trained, ...arch);
  ok('init', '--out', trained, ...arch, '--force');
  assert.deepEqual(readdirSync(trained).sort(), ['config.json', 'generation_config.json', 'model.safetensors', 'special_tokens_map.json', 'tokenizer.json', 'tokenizer_config.json']);
});

test('tokenizer train refuses to replace a tokenizer, or a model\'s, without --force', () => {
  const model = join(root, 'tok-model');
  ok('init', '--out', model, ...arch);
  const tokenizer = readFileSync(join(model, 'tokenizer.json'));
  const train = ['tokenizer', 'train', '--data', corpus, '--vocab-size', '280'];
  fails(`${model} already holds a model (config.json, model.safetensors, tokenizer.json), which a new tokenizer.json would leave unable to read its text: pass --force to replace it, or choose another --out`, ...train, '--out', model);
  assert.deepEqual(readFileSync(join(model, 'tokenizer.json')), tokenizer);
  const alone = join(root, 'tok');
  ok(...train, '--out', alone);
  fails(`${alone} already holds a tokenizer (tokenizer.json): pass --force to replace it, or choose another --out`, ...train, '--out', alone);
  ok(...train, '--out', alone, '--force', '--vocab-size', '270');
  assert.equal((JSON.parse(readFileSync(join(alone, 'tokenizer.json'), 'utf8')) as { model: { merges: unknown[] } }).model.merges.length, 270 - 258);
});

test('train refuses to replace a model that has no checkpoint; --model DIR trains it, --force replaces it', () => {
  const dir = join(root, 'train-over-init');
  ok('init', '--out', dir, ...arch, '--seed', '7');
  const initial = readFileSync(join(dir, 'model.safetensors'));
  fails(`${dir} already holds a model (config.json, model.safetensors, tokenizer.json) but no training checkpoint: pass --model ${dir} to train that model, pass --force to replace it with a new run, or choose another --out`, ...run(dir, '--steps', '2'));
  assert.deepEqual(readFileSync(join(dir, 'model.safetensors')), initial);
  ok(...run(dir, '--steps', '2', '--model', dir));
  assert.equal(readTrainerState(dir)!.step, 2);
  const other = join(root, 'train-force');
  ok('init', '--out', other, ...arch, '--seed', '7');
  ok(...run(other, '--steps', '2', '--force'));
  assert.equal(readTrainerState(other)!.step, 2);
});

test('a resume lists every typed flag that contradicts the checkpoint, and refuses a --steps it has passed', () => {
  const dir = join(root, 'conflicts');
  ok(...run(dir, '--steps', '4'));
  const vocab = (JSON.parse(ok('info', '--model', dir, '--json')) as { vocab_size: number }).vocab_size;
  const other = join(root, 'other.txt');
  writeFileSync(other, 'Another text entirely. '.repeat(50));
  fails(`${dir} holds a training checkpoint (step 4) that these flags contradict: --lr '0.01' (checkpoint: '0.003'), --tokenizer 'byte' (checkpoint: another tokenizer, ${vocab} tokens), --data '${other}' (checkpoint: '${corpus}'), --dim '32' (checkpoint: '16'), --window 'none' (checkpoint: '4'), --no-rope (checkpoint: not set); run the same command without them to resume, or pass --force to start a new run in ${dir}`,
    'train', '--out', dir, '--steps', '8', '--lr', '0.01', '--dim', '32', '--window', 'none', '--data', other, '--tokenizer', 'byte', '--no-rope');
  // Typing the flags of the first run again is no contradiction: the tokenizer was learned (bpe) with them.
  const again = swat(...run(dir, '--steps', '4', '--tokenizer', 'bpe', '--vocab-size', '300'));
  assert.equal(again.code, 1);
  assert.equal(lastLine(again.err), `swat: error: ${dir} holds a training checkpoint (step 4) that these flags contradict: --vocab-size '300' (checkpoint: sized to the corpus); run the same command without them to resume, or pass --force to start a new run in ${dir}`);
  fails(`--steps 2: ${dir} is already at step 4; pass a larger --steps to train longer, or --force to start a new run`, 'train', '--out', dir, '--steps', '2');
  // Flags that agree, and those a resume may change, are accepted; data and model come from the checkpoint
  // (--seq-len 16 is checked against the checkpoint's window 4, not the default window of a new model).
  const r = swat('train', '--out', dir, ...cache, '--steps', '6', '--lr', '3e-3', '--dim', '16', '--seq-len', '16', '--checkpoint-interval', '1', '--sample-tokens', '0');
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, new RegExp(`data: ${corpus}: token cache reused`));
  assert.match(r.err, new RegExp(`resuming ${dir} at step 4 of 6`));
  assert.equal(readTrainerState(dir)!.options.checkpointInterval, 1);
});

/** The weights and optimiser moments of a checkpoint, as raw tensor bytes by name. */
function checkpointBytes(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const file of ['model.safetensors', 'optimizer.safetensors']) {
    for (const [name, t] of decodeSafetensors(readFileSync(join(dir, file)), file).tensors) out.set(`${file}:${name}`, Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  }
  return out;
}

const STEPS = '400'; // enough that a fast machine is still training when the signals arrive
let straight: Map<string, Buffer> | undefined;
/** The checkpoint of the uninterrupted run the interrupted ones must match bit for bit. */
function uninterrupted(): Map<string, Buffer> {
  if (straight === undefined) {
    const dir = join(root, 'straight');
    ok(...run(dir, '--steps', STEPS));
    straight = checkpointBytes(dir);
  }
  return straight;
}

/** Runs STEPS steps into `name`, sends `signals` after twenty (each once the previous one was seen),
 *  resumes with the same command; returns how the interrupted process ended and the step it stopped at. */
async function interruptAndResume(name: string, signals: NodeJS.Signals[]): Promise<{ code: number | null; signal: NodeJS.Signals | null; err: string; step: number }> {
  const dir = join(root, name);
  const args = run(dir, '--steps', STEPS);
  const p = launch(...args);
  await waitFor(() => existsSync(join(dir, 'metrics.jsonl')) && loggedSteps(dir).length >= 20, 'twenty logged steps');
  for (const s of signals) {
    // Each after the previous one was seen (signals sent at once may arrive as one).
    if (p.child.exitCode !== null || p.child.signalCode !== null) break;
    const seen = p.err().split(`${s}: stopping`).length;
    p.child.kill(s);
    await waitFor(() => p.err().split(`${s}: stopping`).length > seen || p.child.exitCode !== null || p.child.signalCode !== null, `${s} to be seen`);
  }
  const ended = await p.exit;
  const state = readTrainerState(dir)!;
  assert.ok(state.step < Number(STEPS), 'the run was stopped before its end');
  assert.deepEqual(loggedSteps(dir).slice(0, state.step), Array.from({ length: state.step }, (_, i) => i + 1));
  const resumed = swat(...args);
  assert.equal(resumed.code, 0, resumed.err);
  assert.match(resumed.err, new RegExp(`resuming ${dir} at step ${state.step} of ${STEPS}`));
  assert.deepEqual(checkpointBytes(dir), uninterrupted(), 'final weights and moments bit-identical to the uninterrupted run');
  assert.deepEqual(loggedSteps(dir), Array.from({ length: Number(STEPS) }, (_, i) => i + 1));
  return { ...ended, err: p.err(), step: state.step };
}

test('Ctrl-C (SIGINT) finishes the step, checkpoints it, prints the command that resumes; the resumed run is bit-identical', async () => {
  const r = await interruptAndResume('sigint', ['SIGINT']);
  assert.equal(r.code, 130);
  const dir = join(root, 'sigint');
  const step = r.step;
  assert.ok(step >= 20);
  const lines = r.err.trimEnd().split('\n');
  assert.equal(lines.at(-2), `stopped at step ${step} of ${STEPS}: ${dir} holds its checkpoint; resume with:`);
  assert.equal(lines.at(-1), `  node ${relative(process.cwd(), MAIN)} ${run(dir, '--steps', STEPS).join(' ')}`);
  assert.ok(lines.includes('SIGINT: stopping after this step and writing a checkpoint (again to stop at once)'));
});

test('SIGTERM likewise', async () => {
  const r = await interruptAndResume('sigterm', ['SIGTERM']);
  assert.equal(r.code, 143);
  assert.match(lastLine(r.err), /^ {2}node \S+ train /);
});

test('a second Ctrl-C stops at once and still leaves the last complete checkpoint', async () => {
  const r = await interruptAndResume('sigint-twice', ['SIGINT', 'SIGINT']);
  assert.ok(r.code === 130 || r.signal === 'SIGINT', `ended with ${JSON.stringify(r)}`);
  assert.ok(!existsSync(join(root, 'sigint-twice', '.pending')));
});

test('a diverging run skips non-finite steps, stops with a clear line and non-zero exit, and keeps its last finite checkpoint', () => {
  const dir = join(root, 'diverge');
  const r = swat(...run(dir, '--steps', '60', '--checkpoint-interval', '2', '--lr', '3e3', '--grad-clip', '0', '--warmup', '0'));
  assert.equal(r.code, 1);
  assert.match(r.err, /\nstep \d+: update skipped: the loss is NaN\n/);
  const m = new RegExp(`^swat: error: training diverged at step \\d+: .*; ${dir} keeps the last finite checkpoint \\(step (\\d+)\\); lower the learning rate \\(peak 3000, gradient clipping off\\)$`).exec(lastLine(r.err));
  assert.ok(m, r.err);
  assert.equal(readTrainerState(dir)!.step, Number(m[1]));
  const weights = join(dir, 'model.safetensors');
  for (const [name, t] of decodeSafetensors(readFileSync(weights), weights).tensors) assert.ok(t.data.every(Number.isFinite), `${name} holds a non-finite weight`);
  assert.doesNotMatch(r.err, /\n\s+at /);
});

test('after a kill before the first periodic checkpoint, re-running resumes and the metrics hold each step once', async () => {
  const dir = join(root, 'kill-early');
  // Far more steps than the kill waits for, so that a fast machine has not finished when it comes.
  const args = run(dir, '--steps', '400', '--checkpoint-interval', '1000', '--eval-interval', '10');
  const p = launch(...args);
  await waitFor(() => existsSync(join(dir, 'metrics.jsonl')) && loggedSteps(dir).length >= 15, 'fifteen logged steps');
  p.child.kill('SIGKILL');
  await p.exit;
  const r = swat(...args);
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, new RegExp(`resuming ${dir} at step 0 of 400`));
  assert.deepEqual(loggedSteps(dir), Array.from({ length: 400 }, (_, i) => i + 1));
  assert.deepEqual(readMetrics(dir).filter((l) => l.val_loss !== undefined).map((l) => l.step), Array.from({ length: 40 }, (_, i) => 10 * (i + 1)));
});

test('a second trainer on the same --out is refused while the first runs; a killed trainer\'s lock does not block the next', async () => {
  const dir = join(root, 'locked');
  // Killed below: it must still be running then, however fast the machine, and hold no checkpoint past step 0.
  const first = launch(...run(dir, '--steps', '100000', '--checkpoint-interval', '100000'));
  await waitFor(() => existsSync(join(dir, 'metrics.jsonl')), 'the first trainer to start');
  fails(new RegExp(`^swat: error: ${dir} is in use by swat train \\(pid ${first.child.pid}, since [0-9T:.Z-]+\\): wait for it to finish or stop it$`), ...run(dir, '--steps', '5000'));
  fails(new RegExp(`^swat: error: ${dir} is in use by swat train \\(pid ${first.child.pid}, `), 'init', '--out', dir, ...arch, '--force');
  first.child.kill('SIGKILL');
  await first.exit;
  const next = swat(...run(dir, '--steps', '10'));
  assert.equal(next.code, 0, next.err);
  assert.equal(readTrainerState(dir)!.step, 10);
  assert.ok(!existsSync(join(dir, '.swat-lock')));
});

test('score, info and generate in a loop beside a trainer that checkpoints every step: every read succeeds and the trainer goes on', async () => {
  // The trainer runs until the readers are done, so the overlap does not depend on how fast this machine trains.
  const dir = join(root, 'readers');
  const trainer = launch(...run(dir, '--steps', '100000', '--checkpoint-interval', '1'));
  let running = true;
  void trainer.exit.then(() => (running = false));
  await waitFor(() => readTrainerState(dir) !== null || !running, 'the first checkpoint');
  const readers = [['score', '--model', dir, '--text', 'the cat'], ['info', '--model', dir, '--json'], ['generate', '--model', dir, '--prompt', 'the', '--max-new-tokens', '4']];
  const firstStep = readTrainerState(dir)!.step;
  for (let reads = 0; reads < 9 && running; reads++) {
    const r = launch(...readers[reads % readers.length]!);
    const { code } = await r.exit;
    assert.equal(code, 0, `read ${reads} failed: ${r.err()}`);
  }
  assert.ok(running, `the trainer stopped while being read: ${trainer.err()}`);
  trainer.child.kill('SIGINT');
  const { code } = await trainer.exit;
  assert.equal(code, 130, trainer.err());
  assert.ok(readTrainerState(dir)!.step > firstStep, 'the trainer checkpointed while being read');
});

test('a full disk: one line naming the file and errno, no .pending left, the previous checkpoint resumes', (t) => {
  const dir = join(root, 'full');
  // The test hook of src/io/atomic.ts: room for the step-0 checkpoint, not for a second one beside it.
  const r = swatWith({ SWAT_TEST_DISK_FREE_BYTES: '200000' }, ...run(dir, '--steps', '5', '--checkpoint-interval', '1'));
  assert.equal(r.code, 1);
  assert.match(lastLine(r.err), new RegExp(`^swat: error: ${dir}/[\\w.]+: no space left on device \\(ENOSPC\\); ${dir} keeps its previous files$`));
  assert.deepEqual(readdirSync(dir).filter((n) => n.startsWith('.')), [], 'no .pending, temp file or lock left');
  assert.equal(readTrainerState(dir)!.step, 0);
  ok(...run(dir, '--steps', '5', '--checkpoint-interval', '1'));
  assert.equal(readTrainerState(dir)!.step, 5);
  // The same on a real small file system, where one can be mounted.
  const mount = join(root, 'small');
  mkdirSync(mount);
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', mount], { encoding: 'utf8' });
  if (mounted.status !== 0) {
    t.diagnostic(`no tmpfs (${(mounted.stderr || String(mounted.error)).trim()}): only the injected error was tested`);
    return;
  }
  try {
    const small = join(mount, 'run');
    const s = swat(...run(small, '--steps', '5', '--checkpoint-interval', '1'));
    assert.equal(s.code, 1);
    assert.match(lastLine(s.err), new RegExp(`^swat: error: ${small}/[\\w./]+: no space left on device \\(ENOSPC\\); ${small} keeps its previous files$`));
    assert.deepEqual(readdirSync(small).filter((n) => n.startsWith('.')), []);
    assert.equal(readTrainerState(small)!.step, 0);
    assert.match(ok('info', '--model', small), /^parameters\s+[\d,]+ /m);
  } finally {
    spawnSync('umount', [mount]);
  }
});
