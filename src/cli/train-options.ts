// swat train's flags as training options and a data source, and what resuming a checkpoint does with
// them: flags that may change a run in progress (its length, how often it validates and checkpoints) are
// applied; any other typed flag that disagrees with the checkpoint is listed in one error, so a resume
// never silently ignores what the user asked for. Only flags the user typed are compared (`given`).
//
// Not here: the decision to resume (commands/train.ts), the checkpoint format (train/trainer.ts).

import { resolve } from 'node:path';
import type { SwatConfig } from '../config.js';
import { InputError, showValue } from '../errors.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { tokenizerHash } from '../tokenizer/tokenizer-file.js';
import type { TrainOptions, TrainSource, TrainerState } from '../train/trainer.js';
import { type Parsed, given, int, list, num, posInt, seed, str } from './args.js';
import { configFromArgs, tokenizerFromArgs } from './architecture.js';

type NumberFlag = (v: Parsed, name: string) => number | undefined;

/** Flags that fix the run's trajectory: typed on a resume, they must match the checkpoint. */
const FIXED_OPTIONS: [flag: string, key: keyof TrainOptions, read: NumberFlag][] = [
  ['seq-len', 'seqLen', posInt], ['batch-size', 'batchSize', posInt], ['grad-accum', 'gradAccum', posInt],
  ['lr', 'lr', num], ['min-lr', 'minLr', num], ['warmup', 'warmupSteps', int], ['weight-decay', 'weightDecay', num],
  ['grad-clip', 'gradClip', num], ['seed', 'seed', seed],
];

/** Flags a resume applies: they change when things happen, not what the weights become. */
const CHANGEABLE_OPTIONS: [flag: string, key: 'evalInterval' | 'evalBatches' | 'checkpointInterval', read: NumberFlag][] = [
  ['eval-interval', 'evalInterval', int], ['eval-batches', 'evalBatches', posInt], ['checkpoint-interval', 'checkpointInterval', int],
];

export function trainOptions(v: Parsed, window: number | null, maxSteps: number): TrainOptions {
  const o = { seqLen: 4 * (window ?? 64), beta1: 0.9, beta2: 0.95, adamEps: 1e-8, maxSteps } as TrainOptions;
  for (const [flag, key, read] of [...FIXED_OPTIONS, ...CHANGEABLE_OPTIONS]) o[key] = read(v, flag) ?? o[key];
  return o;
}

/** --data and --val-fraction, or on a resume the checkpoint's (`recorded`) where they were not typed. */
export function dataSource(v: Parsed, recorded?: TrainSource): TrainSource {
  const paths = list(v, 'data').map((p) => resolve(p));
  return {
    paths: recorded && !given(v, 'data') ? recorded.paths : paths,
    valFraction: recorded && !given(v, 'val-fraction') ? recorded.valFraction : num(v, 'val-fraction')!,
  };
}

/** What a resume changes: the schedule's length and the changeable options that were typed. Refuses a
 *  --steps below the checkpoint's step. */
export function resumeOverrides(v: Parsed, out: string, state: TrainerState): Partial<TrainOptions> {
  const overrides: Partial<TrainOptions> = {};
  const steps = posInt(v, 'steps');
  if (steps !== undefined) {
    if (steps < state.step) throw new InputError(`--steps ${steps}: ${out} is already at step ${state.step}; pass a larger --steps to train longer, or --force to start a new run`);
    overrides.maxSteps = steps;
  }
  for (const [flag, key, read] of CHANGEABLE_OPTIONS) if (given(v, flag)) overrides[key] = read(v, flag)!;
  return overrides;
}

/** Throws one error listing every typed flag that contradicts the checkpoint in `out`. */
export function checkResumeFlags(v: Parsed, out: string, state: TrainerState, config: SwatConfig, tokenizer: Tokenizer): void {
  const differences: string[] = [];
  // `recorded` is display text: values quoted with showValue, descriptions as they are.
  const differ = (flag: string, typed: string | null, recorded: string) => differences.push(`--${flag}${typed === null ? '' : ` ${showValue(typed)}`} (checkpoint: ${recorded})`);
  for (const [flag, key, read] of FIXED_OPTIONS) {
    if (given(v, flag) && read(v, flag) !== state.options[key]) differ(flag, str(v, flag)!, showValue(String(state.options[key])));
  }
  const model = str(v, 'model');
  if (model !== undefined && resolve(model) !== resolve(out)) differ('model', model, 'it continues its own model');
  // 'bpe' asks for a vocabulary learned from the data: the checkpoint's, if it was learned (with which
  // --vocab-size is recorded); other names and files are compared by content.
  const learnedVocab = state.data?.learnedVocab;
  const learning = str(v, 'tokenizer') === 'bpe';
  if (given(v, 'tokenizer')) {
    const other = learning ? learnedVocab === undefined : tokenizerHash(tokenizerFromArgs(v)!) !== tokenizerHash(tokenizer);
    if (other) differ('tokenizer', str(v, 'tokenizer')!, `another tokenizer, ${tokenizer.vocabSize} tokens`);
  }
  const vocabLearned = learning && learnedVocab !== undefined;
  if (vocabLearned && given(v, 'vocab-size') && posInt(v, 'vocab-size') !== learnedVocab) {
    differ('vocab-size', str(v, 'vocab-size')!, learnedVocab === null ? 'sized to the corpus' : showValue(String(learnedVocab)));
  }
  if (state.data !== undefined) {
    const typed = dataSource(v);
    if (given(v, 'data') && typed.paths.join('\n') !== state.data.paths.join('\n')) {
      differ('data', list(v, 'data').join(' '), state.data.paths.length ? showValue(state.data.paths.join(' ')) : 'the built-in corpus');
    }
    if (given(v, 'val-fraction') && typed.valFraction !== state.data.valFraction) differ('val-fraction', str(v, 'val-fraction')!, showValue(String(state.data.valFraction)));
  }
  architectureDifferences(v, config, given(v, 'tokenizer') && !learning ? tokenizerFromArgs(v)! : tokenizer, vocabLearned, differ);
  if (differences.length > 0) {
    throw new InputError(`${out} holds a training checkpoint (step ${state.step}) that these flags contradict: ${differences.join(', ')}; run the same command without them to resume, or pass --force to start a new run in ${out}`);
  }
}

/** The checkpoint's config as flag values: what a resume's architecture flags are compared with. */
function configFlags(c: SwatConfig): Record<string, string | boolean> {
  return {
    'vocab-size': String(c.vocab_size), layers: String(c.num_hidden_layers), dim: String(c.hidden_size), heads: String(c.num_heads),
    window: c.window_size === null ? 'none' : String(c.window_size), attention: c.attention_activation,
    alibi: c.alibi_slopes.join(','), 'alibi-schedule': 'code', 'no-rope': !c.use_rope,
    'intermediate-size': String(c.intermediate_size), 'sigmoid-bias': String(c.sigmoid_bias), untied: !c.tie_word_embeddings,
  };
}

/** The config fields each architecture flag sets. */
const ARCHITECTURE_FIELDS: Record<string, (keyof SwatConfig)[]> = {
  'vocab-size': ['vocab_size'], layers: ['num_hidden_layers'], dim: ['hidden_size'], heads: ['num_heads', 'alibi_slopes'],
  window: ['window_size'], attention: ['attention_activation'], alibi: ['alibi_slopes'], 'alibi-schedule': ['alibi_slopes'],
  'no-rope': ['use_rope'], 'intermediate-size': ['intermediate_size'], 'sigmoid-bias': ['sigmoid_bias'], untied: ['tie_word_embeddings'],
};

/** The typed architecture flags, completed with the checkpoint's values, made into a config the way a new
 *  run would (same parsing, same errors) with `tokenizer` (the typed one, or the checkpoint's); each typed
 *  flag whose fields differ is a difference. --vocab-size of a learned vocabulary is compared above. */
function architectureDifferences(v: Parsed, config: SwatConfig, tokenizer: Tokenizer, vocabLearned: boolean, differ: (flag: string, typed: string | null, recorded: string) => void): void {
  const typed = Object.keys(ARCHITECTURE_FIELDS).filter((f) => given(v, f) && !(f === 'vocab-size' && vocabLearned));
  if (typed.length === 0) return;
  const recorded = configFlags(config);
  const merged: Parsed = { ...recorded, ...Object.fromEntries(typed.map((f) => [f, v[f]])) };
  if (!given(v, 'vocab-size')) delete merged['vocab-size']; // then it follows the tokenizer, as in a new run
  if (given(v, 'alibi-schedule') && !given(v, 'alibi')) merged['alibi'] = 'balanced'; // a schedule applies to a preset
  let wanted: SwatConfig | null;
  try {
    wanted = configFromArgs(merged, tokenizer);
  } catch {
    wanted = null; // flags that make no model with the checkpoint's other settings: compare them as typed
  }
  for (const flag of typed) {
    const differs = wanted === null
      ? String(v[flag]) !== String(recorded[flag])
      : ARCHITECTURE_FIELDS[flag]!.some((field) => JSON.stringify(wanted[field]) !== JSON.stringify(config[field]));
    if (!differs) continue;
    const was = recorded[flag]!;
    if (typeof was === 'boolean') differ(flag, null, was ? 'set' : 'not set'); // a switch: --no-rope, --untied
    else differ(flag, str(v, flag)!, showValue(was));
  }
}
