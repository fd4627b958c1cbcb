// A training run on texts held in memory, with no directory: what the web app trains in its worker. The
// texts become one token stream as the CLI's corpus does (each followed by EOS), whose last tenth is held
// out for validation; the tokenizer is bytes or a byte-level BPE learned from the texts; the model comes
// from the architecture options of `swat init`; each step is the TrainingLoop's (loop.ts). `files()` gives
// the model directory as bytes (config.json, model.safetensors, tokenizer.json and the Hugging Face
// companions, as `swat train` writes them), and refuses weights that are not finite.
//
// Not here: pausing and messages (the caller steps when it wants), files on disk (trainer.ts).

import type { Backend } from '../backend/backend.js';
import { type ArchitectureOptions, makeConfig } from '../config.js';
import { DataError, TrainingError } from '../errors.js';
import { tokenizeDocuments } from '../data/tokenize.js';
import { documentTokenIds } from '../model/companions.js';
import { modelFiles } from '../model/files.js';
import { SwatModel } from '../model/model.js';
import { PieceCounter, trainBpe } from '../tokenizer/bpe-train.js';
import { ByteLevelTokenizer } from '../tokenizer/byte-level.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { type StepResult, type TrainOptions, TrainingLoop } from './loop.js';

export type TokenizerChoice = { kind: 'byte' } | { kind: 'bpe'; vocabSize: number };

export interface SessionSpec {
  texts: readonly string[];
  tokenizer: TokenizerChoice;
  /** The architecture; the vocabulary and the document tokens come from the tokenizer. */
  architecture: Omit<ArchitectureOptions, 'vocabSize' | 'bosId' | 'eosId'>;
  /** The run's options; `seed` also initialises the weights. */
  train: TrainOptions;
}

/** Share of the token stream held out for validation (its end). */
export const VAL_FRACTION = 0.1;

export class TrainingSession {
  readonly tokenizer: Tokenizer;
  readonly loop: TrainingLoop;

  private constructor(tokenizer: Tokenizer, loop: TrainingLoop) {
    this.tokenizer = tokenizer;
    this.loop = loop;
  }

  /** Learns the tokenizer, tokenizes and splits the texts, and makes the model: every check (sizes, enough
   *  text) happens here, before the first step. */
  static create(spec: SessionSpec, backend: Backend): TrainingSession {
    const text = spec.texts.filter((t) => t.length > 0);
    if (text.length === 0) throw new DataError('no training text: paste or add some text first');
    const tokenizer = makeTokenizer(spec.tokenizer, text);
    const config = makeConfig({ ...spec.architecture, vocabSize: tokenizer.vocabSize, ...documentTokenIds(tokenizer) });
    const stream = tokenizeDocuments(text.map((t) => ({ text: t })), tokenizer);
    const T = spec.train.seqLen;
    const need = 2 * (T + 1);
    if (stream.length < need) {
      throw new DataError(`the text is ${stream.length} tokens; sequences of ${T} tokens need at least ${need} (one to train on, one held out): add text or shorten the sequence length`);
    }
    const valTokens = Math.max(T + 1, Math.round(stream.length * VAL_FRACTION));
    const data = { train: stream.subarray(0, stream.length - valTokens), val: stream.subarray(stream.length - valTokens) };
    const model = SwatModel.create(config, backend, spec.train.seed);
    return new TrainingSession(tokenizer, TrainingLoop.start(model, data, spec.train));
  }

  get model(): SwatModel {
    return this.loop.model;
  }

  /** One optimisation step; a run that diverged stops with a TrainingError (its weights are not saved). */
  step(): StepResult {
    const r = this.loop.trainStep();
    const diverged = this.loop.divergence(r);
    if (diverged !== null) throw new TrainingError(`training diverged at step ${this.loop.step}: ${diverged}; ${this.loop.advice()}`);
    return r;
  }

  /** The model directory's files as they would be committed to disk. */
  files(): Record<string, Uint8Array | string> {
    if (!this.loop.finiteState()) throw new TrainingError('the weights are not finite, so the model is not saved');
    return modelFiles(this.model, this.tokenizer, { step: String(this.loop.step) });
  }
}

function makeTokenizer(choice: TokenizerChoice, texts: readonly string[]): Tokenizer {
  if (choice.kind === 'byte') return new ByteLevelTokenizer();
  const counter = new PieceCounter();
  for (const t of texts) counter.add(t);
  return trainBpe(counter.counts, { vocabSize: choice.vocabSize });
}
