// The tokenizer module's public surface.
export type { Tokenizer, EncodeOptions } from './tokenizer.js';
export type { SpecialTokenMode } from './added-tokens.js';
export {
  ByteLevelTokenizer,
  BOS_TOKEN,
  EOS_TOKEN,
  BYTE_TO_UNICODE,
  UNICODE_TO_BYTE,
  SPECIAL_TOKENS,
  type SpecialToken,
} from './byte-level.js';
export { ByteLevelBpeTokenizer, type ByteLevelBpeSpec } from './bpe.js';
export { trainBpe, PieceCounter, type BpeTrainOptions } from './bpe-train.js';
export { SentencePieceBpeTokenizer, type SentencePieceBpeSpec, METASPACE } from './sentencepiece.js';
export { pretrainedTokenizer, gpt2Tokenizer, llama2Tokenizer, PRETRAINED_NAMES, type PretrainedName } from './pretrained.js';
export { GPT2_SPLIT_PATTERN, splitGpt2, utf8Runs } from './pretokenize.js';
export { tokenizerFromJson, tokenizerToJson, TOKENIZER_FILE } from './hf-json.js';
export { loadTokenizer, tokenizerHash } from './tokenizer-file.js';
