// Reading and writing tokenizer.json (Hugging Face `tokenizers` format). Three shapes are understood:
//   - byte-level BPE (GPT-2, and what `swat tokenizer train` writes): ByteLevel pre-tokenizer and decoder,
//     a vocabulary holding the 256 byte tokens of GPT-2's byte-to-unicode alphabet, and the merges. With no
//     merges and ids equal to byte values it is the plain ByteLevelTokenizer;
//   - SentencePiece BPE with byte fallback (Llama-2): Prepend("▁") + Replace(" ", "▁") normalizer, or a
//     Metaspace pre-tokenizer (any prepend_scheme, split or not), `byte_fallback: true`, `<0xXX>` byte
//     tokens (which may also be listed among the added tokens);
// Anything else — another model type, a normalizer or pre-tokenizer that would change the bytes reaching
// the model, merges naming unknown tokens, ids with gaps — is rejected with a one-line FormatError naming
// the file and field, rather than tokenizing differently from other tools.
// BOS and EOS are recognised among the special added tokens by their usual contents (tokenizer.json does
// not mark them): EOS is <|endoftext|> or </s>, BOS is <|bos|> or <s>, or EOS when there is no BOS (GPT-2).
// Added tokens keep their matching options (lstrip, rstrip, single_word, normalized); the post-processor is
// not read: swat's encode never adds special tokens (a model directory's is written from its config).
// Not here: writing the file (the caller writes the returned string atomically), reading it from disk and
// hashing it (tokenizer-file.ts; this module is host-neutral).

import { FormatError, InputError, showJson } from '../errors.js';
import { JSON_LIMITS, parseJson } from '../io/json.js';
import { BYTE_TO_UNICODE, BYTE_VOCAB_SIZE, ByteLevelTokenizer, SPECIAL_TOKENS, type SpecialToken } from './byte-level.js';
import { ByteLevelBpeTokenizer } from './bpe.js';
import { METASPACE, type MetaspaceOptions, SentencePieceBpeTokenizer } from './sentencepiece.js';
import { MAX_VOCAB_SIZE, type Tokenizer } from './tokenizer.js';

export const TOKENIZER_FILE = 'tokenizer.json';

export function tokenizerToJson(tok: Tokenizer): string {
  return JSON.stringify(tok.toJSON(), null, 2) + '\n';
}

const EOS_CONTENTS = ['<|endoftext|>', '</s>'];
const BOS_CONTENTS = ['<|bos|>', '<s>'];

type Fail = (msg: string) => never;
type Json = Record<string, unknown>;

/** Parses tokenizer.json text; `fileName` only names the file in error messages. */
export function tokenizerFromJson(text: string, fileName: string): Tokenizer {
  const fail: Fail = (msg) => {
    throw new FormatError(`${fileName}: ${msg}`);
  };
  const root = parseJson(text, fileName, { maxSize: JSON_LIMITS.tokenizer });
  if (!isObject(root)) return fail('expected a JSON object at the top level');
  const model = checkModel(root['model'], fail);
  const specials = checkAddedTokens(root['added_tokens'], fail);
  const vocab = checkVocab(model['vocab'], fail);
  const merges = checkMerges(model['merges'], fail);
  const tokens = tokenTable(vocab, specials, fail);
  const { bosId, eosId } = bosEos(specials, fail);
  const build = <T>(make: () => T): T => {
    try {
      return make();
    } catch (e) {
      if (e instanceof InputError) fail(e.message.startsWith(`${fileName}: `) ? e.message.slice(fileName.length + 2) : e.message);
      throw e;
    }
  };
  if (isObject(root['pre_tokenizer']) && root['pre_tokenizer']['type'] === 'ByteLevel') {
    const useRegex = checkByteLevel(root, fail);
    if (merges.length === 0 && isByteLayout(tokens, specials)) return new ByteLevelTokenizer();
    const specialsInVocab = specials.some((s) => vocab.get(s.content) === s.id);
    const byteTokens = tokens.map((t, id) => (specials.some((s) => s.id === id) ? null : t));
    return build(() => new ByteLevelBpeTokenizer({ tokens: byteTokens, merges, specials, bosId, eosId, useRegex, specialsInVocab, name: fileName }));
  }
  if (isSentencePiece(root, model)) {
    const metaspace = checkSentencePiece(root, model, fail);
    const unk = model['unk_token'];
    const unkId = typeof unk === 'string' ? (vocab.get(unk) ?? -1) : -1;
    return build(() => new SentencePieceBpeTokenizer({ tokens, merges, specials, unkId, bosId, eosId, name: fileName, ...(metaspace ? { metaspace } : {}) }));
  }
  return fail(
    `pre_tokenizer must be {"type": "ByteLevel"} (byte-level BPE), or the file a SentencePiece BPE with byte_fallback; got ${showJson(root['pre_tokenizer'] ?? null)}`,
  );
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkModel(model: unknown, fail: Fail): Json {
  if (model === undefined) fail('missing field "model"');
  if (!isObject(model)) return fail('"model" must be an object');
  if (model['type'] === undefined) fail('missing field "model.type"');
  if (model['type'] !== 'BPE') fail(`model.type ${showJson(model['type'])} is not supported (only "BPE")`);
  for (const field of ['continuing_subword_prefix', 'end_of_word_suffix'] as const) {
    const v = model[field];
    if (v !== undefined && v !== null && v !== '') fail(`model.${field} ${showJson(v)} is not supported (expected null)`);
  }
  // ignore_merges: true encodes whole words found in the vocabulary without merging, which we do not do.
  if (model['ignore_merges'] === true) fail('model.ignore_merges true is not supported (expected false)');
  if (model['dropout'] !== undefined && model['dropout'] !== null && model['dropout'] !== 0) {
    fail(`model.dropout ${showJson(model['dropout'])} is not supported (expected null)`);
  }
  return model;
}

/** Ids index the token table: integers in [0, MAX_VOCAB_SIZE), so that no id is a property name rather
 *  than an index (4294967295), and the table they make is bounded. */
const TOKEN_ID = `an integer in [0, ${MAX_VOCAB_SIZE})`;

function isTokenId(id: unknown): id is number {
  return Number.isInteger(id) && (id as number) >= 0 && (id as number) < MAX_VOCAB_SIZE;
}

function checkVocab(vocab: unknown, fail: Fail): Map<string, number> {
  if (!isObject(vocab)) return fail('model.vocab must be an object mapping token strings to ids');
  const map = new Map<string, number>();
  for (const [token, id] of Object.entries(vocab)) {
    if (!isTokenId(id)) fail(`model.vocab ${showJson(token)} has id ${showJson(id)}, expected ${TOKEN_ID}`);
    map.set(token, id as number);
  }
  return map;
}

/** Merges as "left right" strings (the classic form) or [left, right] pairs (newer files). */
function checkMerges(merges: unknown, fail: Fail): [string, string][] {
  if (!Array.isArray(merges)) return fail('model.merges must be an array');
  // Every merge makes a token of the vocabulary, so a longer list cannot be right.
  if (merges.length > MAX_VOCAB_SIZE) fail(`model.merges has ${merges.length} entries, more than the limit of ${MAX_VOCAB_SIZE}`);
  return merges.map((m: unknown, i) => {
    if (typeof m === 'string') {
      const parts = m.split(' ');
      if (parts.length === 2 && parts[0] !== '' && parts[1] !== '') return [parts[0]!, parts[1]!];
    } else if (Array.isArray(m) && m.length === 2 && typeof m[0] === 'string' && typeof m[1] === 'string') {
      return [m[0], m[1]];
    }
    return fail(`model.merges[${i}] ${showJson(m)} is not a pair of tokens ("left right" or ["left", "right"])`);
  });
}

/** id → token string over [0, V): every id must name exactly one token, from the vocabulary or the added
 *  tokens; a gap would leave ids the model could emit but nothing could decode. */
function tokenTable(vocab: Map<string, number>, specials: readonly SpecialToken[], fail: Fail): string[] {
  const tokens: string[] = [];
  for (const [token, id] of vocab) {
    if (tokens[id] !== undefined && tokens[id] !== token) {
      fail(`model.vocab gives id ${id} to both ${showJson(tokens[id])} and ${showJson(token)}`);
    }
    tokens[id] = token;
  }
  for (const s of specials) {
    if (tokens[s.id] !== undefined && tokens[s.id] !== s.content) {
      fail(`added token ${showJson(s.content)} has id ${s.id}, which model.vocab gives to ${showJson(tokens[s.id])}`);
    }
    tokens[s.id] = s.content;
  }
  for (let id = 0; id < tokens.length; id++) {
    if (tokens[id] === undefined) fail(`no token has id ${id}: ids must run from 0 to ${tokens.length - 1} without gaps`);
  }
  return tokens;
}

function checkAddedTokens(added: unknown, fail: Fail): SpecialToken[] {
  if (!Array.isArray(added)) return fail('added_tokens must be an array');
  const seen = new Set<number>();
  return added.map((entry: unknown, i) => {
    const where = `added_tokens[${i}]`;
    if (!isObject(entry)) return fail(`${where} must be an object, got ${showJson(entry)}`);
    if (!isTokenId(entry['id'])) fail(`${where} has id ${showJson(entry['id'])}, expected ${TOKEN_ID}`);
    if (typeof entry['content'] !== 'string') fail(`${where} needs a string "content", got ${showJson(entry['content'])}`);
    const { id, content, special } = entry as { id: number; content: string; special?: unknown };
    // A non-special added token is text of its own that no tokenizer here can produce or decode as such.
    if (special !== true) fail(`${where} ${showJson(content)} must have "special": true`);
    if (seen.has(id)) fail(`${where} repeats id ${id}`);
    seen.add(id);
    const options: Record<string, boolean> = {};
    for (const option of ['single_word', 'lstrip', 'rstrip', 'normalized'] as const) {
      const v = entry[option];
      if (v !== undefined && typeof v !== 'boolean') fail(`${where} ${showJson(content)} has ${option} ${showJson(v)}, expected true or false`);
      if (v === true) options[option] = true;
    }
    return { id, content, ...options };
  });
}

function bosEos(specials: readonly SpecialToken[], fail: Fail): { bosId: number; eosId: number } {
  const find = (contents: string[]) => specials.find((s) => contents.includes(s.content))?.id;
  const eosId = find(EOS_CONTENTS);
  if (eosId === undefined) {
    return fail(`added_tokens has no end-of-text token (one of ${EOS_CONTENTS.map((c) => showJson(c)).join(', ')})`);
  }
  return { bosId: find(BOS_CONTENTS) ?? eosId, eosId };
}

/** The byte-level pipeline: nothing may change the text before the ByteLevel pre-tokenizer. */
function checkByteLevel(root: Json, fail: Fail): boolean {
  const normalizer = root['normalizer'];
  if (normalizer !== undefined && normalizer !== null) fail('normalizer is not supported with a ByteLevel pre-tokenizer (expected null)');
  const pre = root['pre_tokenizer'] as Json;
  if (pre['add_prefix_space'] === true) fail('pre_tokenizer.add_prefix_space must be false');
  const useRegex = pre['use_regex'] ?? true; // Hugging Face's default
  if (typeof useRegex !== 'boolean') fail(`pre_tokenizer.use_regex must be a boolean, got ${showJson(useRegex)}`);
  return useRegex as boolean;
}

function isByteLayout(tokens: readonly string[], specials: readonly SpecialToken[]): boolean {
  if (tokens.length !== BYTE_VOCAB_SIZE + SPECIAL_TOKENS.length) return false;
  const plain = (x: SpecialToken) => !x.single_word && !x.lstrip && !x.rstrip && !x.normalized;
  const sameSpecials = SPECIAL_TOKENS.every((s) => specials.some((x) => x.id === s.id && x.content === s.content && plain(x)));
  return sameSpecials && specials.length === SPECIAL_TOKENS.length && BYTE_TO_UNICODE.every((c, b) => tokens[b] === c);
}

function isSentencePiece(root: Json, model: Json): boolean {
  return model['byte_fallback'] === true || isMetaspace(root['pre_tokenizer']) || isObject(root['normalizer']);
}

function isMetaspace(pre: unknown): boolean {
  return isObject(pre) && pre['type'] === 'Metaspace';
}

/** Llama-2's normalizer (Prepend ▁, Replace " " → ▁) with no pre-tokenizer (returns undefined), or no
 *  normalizer and a Metaspace pre-tokenizer (returns its options, with tokenizers' defaults: prepend_scheme
 *  "always", split true, and the older add_prefix_space false meaning "never"); byte fallback on. */
function checkSentencePiece(root: Json, model: Json, fail: Fail): MetaspaceOptions | undefined {
  if (model['byte_fallback'] !== true) fail('model.byte_fallback must be true for a SentencePiece BPE (byte fallback keeps every text encodable)');
  const normalizer = root['normalizer'];
  const pre = root['pre_tokenizer'];
  if (isMetaspace(pre)) {
    const m = pre as Json;
    if (normalizer !== null && normalizer !== undefined) fail('normalizer must be null with a Metaspace pre-tokenizer');
    if (m['replacement'] !== METASPACE) fail(`pre_tokenizer.replacement must be "${METASPACE}", got ${showJson(m['replacement'] ?? null)}`);
    const split = m['split'] ?? true;
    if (typeof split !== 'boolean') fail(`pre_tokenizer.split must be true or false, got ${showJson(split)}`);
    const scheme = m['prepend_scheme'] ?? (m['add_prefix_space'] === false ? 'never' : 'always');
    if (scheme !== 'always' && scheme !== 'first' && scheme !== 'never') {
      fail(`pre_tokenizer.prepend_scheme must be "always", "first" or "never", got ${showJson(scheme)}`);
    }
    if (m['add_prefix_space'] === false && scheme !== 'never') fail(`pre_tokenizer.add_prefix_space false contradicts prepend_scheme ${showJson(scheme)}`);
    return { prependScheme: scheme as MetaspaceOptions['prependScheme'], split: split as boolean };
  }
  if (pre !== null && pre !== undefined) fail(`pre_tokenizer must be null or Metaspace for a SentencePiece BPE, got ${showJson(pre)}`);
  const expected = {
    type: 'Sequence',
    normalizers: [
      { type: 'Prepend', prepend: METASPACE },
      { type: 'Replace', pattern: { String: ' ' }, content: METASPACE },
    ],
  };
  // Safe to stringify: the reader bounded the file's nesting depth.
  if (JSON.stringify(normalizer) !== JSON.stringify(expected)) {
    fail(`normalizer must be ${JSON.stringify(expected)} for a SentencePiece BPE, got ${showJson(normalizer ?? null)}`);
  }
  return undefined;
}

