// Public API of the swat package.
export * from './errors.js';
export * from './tensor.js';
export * from './random.js';
export * from './config.js';
export type * from './backend/backend.js';
export { ReferenceBackend } from './backend/reference.js';
export { selectBackend } from './backend/index.js';
export { SwatModel } from './model/model.js';
export { KvCache } from './model/cache.js';
export { ParamBuffer, paramSpecs } from './model/params.js';
export { loadModel, saveModel, modelFiles } from './model/store.js';
export { generate, prefill, scoreTokens, type GenerateOptions } from './infer/generate.js';
export { sampleToken, type SamplingOptions } from './infer/sample.js';
export { Trainer, readTrainerState, type TrainOptions, type TrainData, type TrainEvent, type TrainSource } from './train/trainer.js';
export { DirLock } from './io/lock.js';
export * from './tokenizer/index.js';
export * from './data/index.js';
export { encodeSafetensors, decodeSafetensors, readSafetensorsFile, writeSafetensorsFile } from './io/safetensors.js';
