// tokenizer.json on disk, and a tokenizer's identity (the hash the token cache and resumed runs compare).
// Node only; parsing the text is hf-json.ts's.

import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../errors.js';
import { readTextFile } from '../io/files.js';
import { JSON_LIMITS } from '../io/json.js';
import { TOKENIZER_FILE, tokenizerFromJson, tokenizerToJson } from './hf-json.js';
import type { Tokenizer } from './tokenizer.js';

/** A tokenizer's identity: SHA-256 (hex) of its tokenizer.json text. Same ids ⇔ same hash, in practice. */
export function tokenizerHash(tok: Tokenizer): string {
  return createHash('sha256').update(tokenizerToJson(tok)).digest('hex');
}

/** Reads `<dir>/tokenizer.json`, or the file itself when `path` is a file. */
export function loadTokenizer(path: string): Tokenizer {
  let file = path;
  try {
    if (statSync(path).isDirectory()) file = join(path, TOKENIZER_FILE);
    return tokenizerFromJson(readTextFile(file, JSON_LIMITS.tokenizer), file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new InputError(`tokenizer not found: ${file}`);
    throw err;
  }
}
