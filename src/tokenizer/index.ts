// The tokenizer module's public surface.
export type { Tokenizer } from './tokenizer.js';
export {
  ByteLevelTokenizer,
  BOS_TOKEN,
  EOS_TOKEN,
  BYTE_TO_UNICODE,
  UNICODE_TO_BYTE,
  SPECIAL_TOKENS,
  type SpecialToken,
} from './byte-level.js';
export { loadTokenizer, tokenizerFromJson, tokenizerToJson, TOKENIZER_FILE } from './hf-json.js';
