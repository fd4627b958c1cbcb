// Reading and writing tokenizer.json (Hugging Face `tokenizers` format) for the byte-level tokenizer.
// The reader accepts exactly what ByteLevelTokenizer means — a BPE model over the GPT-2 byte map with no
// merges, a ByteLevel pre-tokenizer without a prefix space, and the two special tokens — and rejects the rest
// with a one-line FormatError naming the file and field, rather than tokenizing differently from other tools.
// Not here: writing the file (the caller writes the returned string atomically).

import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { FormatError, InputError } from '../errors.js';
import { BYTE_VOCAB_SIZE, ByteLevelTokenizer, SPECIAL_TOKENS, UNICODE_TO_BYTE } from './byte-level.js';
import type { Tokenizer } from './tokenizer.js';

export const TOKENIZER_FILE = 'tokenizer.json';

export function tokenizerToJson(tok: Tokenizer): string {
  return JSON.stringify(tok.toJSON(), null, 2) + '\n';
}

/** Parses tokenizer.json text; `fileName` only names the file in error messages. */
export function tokenizerFromJson(text: string, fileName: string): Tokenizer {
  const fail = (msg: string): never => {
    throw new FormatError(`${fileName}: ${msg}`);
  };
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch {
    return fail('not valid JSON');
  }
  if (!isObject(root)) return fail('expected a JSON object at the top level');
  checkModel(root['model'], fail);
  checkTextPipeline(root, fail);
  checkAddedTokens(root['added_tokens'], fail);
  return new ByteLevelTokenizer();
}

/** Reads `<dir>/tokenizer.json`, or the file itself when `path` is a file. */
export function loadTokenizer(path: string): Tokenizer {
  let file = path;
  try {
    if (statSync(path).isDirectory()) file = join(path, TOKENIZER_FILE);
    return tokenizerFromJson(readFileSync(file, 'utf8'), file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new InputError(`tokenizer not found: ${file}`);
    throw err;
  }
}

type Fail = (msg: string) => never;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkModel(model: unknown, fail: Fail): void {
  if (model === undefined) fail('missing field "model"');
  if (!isObject(model)) return fail('"model" must be an object');
  if (model['type'] === undefined) fail('missing field "model.type"');
  if (model['type'] !== 'BPE') fail(`model.type ${JSON.stringify(model['type'])} is not supported (only "BPE")`);
  const merges = model['merges'];
  if (!Array.isArray(merges)) fail('model.merges must be an array');
  if (merges.length > 0) {
    fail(`model.merges has ${merges.length} entries: BPE merges are not supported yet`);
  }
  checkVocab(model['vocab'], fail);
}

/** The vocabulary must be the byte map (id = byte value); entries for the special tokens with their own
 *  ids are tolerated, since some tools list added tokens in the model vocabulary too. */
function checkVocab(vocab: unknown, fail: Fail): void {
  if (!isObject(vocab)) return fail('model.vocab must be an object mapping token strings to ids');
  const specials = new Map(SPECIAL_TOKENS.map((s) => [s.content, s.id]));
  let bytes = 0;
  for (const [token, id] of Object.entries(vocab)) {
    const expected = UNICODE_TO_BYTE.get(token) ?? specials.get(token);
    if (expected === undefined) {
      fail(`model.vocab is not the byte-level map: token ${JSON.stringify(token)} is not a byte`);
    }
    if (id !== expected) {
      fail(`model.vocab is not the byte-level map: ${JSON.stringify(token)} has id ${JSON.stringify(id)}, expected ${expected}`);
    }
    if (UNICODE_TO_BYTE.has(token)) bytes++;
  }
  if (bytes !== BYTE_VOCAB_SIZE) {
    fail(`model.vocab is not the byte-level map: it has ${bytes} of the ${BYTE_VOCAB_SIZE} byte tokens`);
  }
}

/** The steps before the model: anything that would change the bytes reaching it is rejected. The decoder
 *  and post-processor are not checked: decoding is ours, and encode never adds special tokens. */
function checkTextPipeline(root: Record<string, unknown>, fail: Fail): void {
  const normalizer = root['normalizer'];
  if (normalizer !== undefined && normalizer !== null) fail('normalizer is not supported (expected null)');
  const pre = root['pre_tokenizer'];
  if (!isObject(pre) || pre['type'] !== 'ByteLevel') {
    fail(`pre_tokenizer must be {"type": "ByteLevel"}, got ${JSON.stringify(pre ?? null)}`);
  }
  if (pre['add_prefix_space'] === true) {
    fail('pre_tokenizer.add_prefix_space must be false');
  }
}

function checkAddedTokens(added: unknown, fail: Fail): void {
  if (!Array.isArray(added)) return fail('added_tokens must be an array');
  const seen = new Set<number>();
  added.forEach((entry: unknown, i) => {
    const where = `added_tokens[${i}]`;
    if (!isObject(entry) || !Number.isInteger(entry['id']) || typeof entry['content'] !== 'string') {
      fail(`${where} needs an integer "id" and a string "content"`);
    }
    const { id, content, special } = entry as { id: number; content: string; special?: unknown };
    const known = SPECIAL_TOKENS.find((s) => s.id === id && s.content === content);
    if (known === undefined) fail(`${where} ${JSON.stringify(content)} with id ${id} is not ${specialList()}`);
    if (special !== true) fail(`${where} ${JSON.stringify(content)} must have "special": true`);
    if (seen.has(id)) fail(`${where} repeats ${JSON.stringify(content)}`);
    seen.add(id);
  });
  for (const s of SPECIAL_TOKENS) {
    if (!seen.has(s.id)) fail(`added_tokens lacks ${JSON.stringify(s.content)} (id ${s.id})`);
  }
}

function specialList(): string {
  return 'one of ' + SPECIAL_TOKENS.map((s) => `${JSON.stringify(s.content)} = ${s.id}`).join(', ');
}
