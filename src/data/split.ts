// Train/validation split of a corpus by whole documents, so validation text is never seen in training (no
// document contributes to both sides). Not random sampling of windows: that is the trainer's job.

import { DataError, InputError } from '../errors.js';
import type { Document } from './documents.js';

export interface Split {
  train: Document[];
  val: Document[];
}

/** Holds out round(n · valFraction) documents (at least 1, at most n − 1) for validation. Which ones is
 *  decided by a hash of each document's text: the same corpus splits the same way on every machine (paths
 *  differ, text does not), whatever order the documents come in, and adding a document moves no other
 *  one across. Both lists keep the input order. A single document cannot be split by documents: its last
 *  valFraction of text is held out instead, and `warn` says so. */
export function splitDocuments(
  docs: readonly Document[],
  valFraction = 0.1,
  opts: { warn?: (msg: string) => void } = {},
): Split {
  if (!(valFraction > 0 && valFraction < 1)) {
    throw new InputError(`splitDocuments: valFraction must be in (0, 1), got ${valFraction}`);
  }
  if (docs.length === 0) throw new DataError('corpus is empty: nothing to split');
  if (docs.length === 1) return splitSingle(docs[0]!, valFraction, opts.warn ?? (() => {}));
  const k = Math.min(docs.length - 1, Math.max(1, Math.round(docs.length * valFraction)));
  const ranked = docs
    .map((doc, index) => ({ doc, index, hash: fnv1a(doc.text) }))
    .sort((a, b) => a.hash - b.hash || compare(a.doc.source, b.doc.source) || a.index - b.index);
  const held = new Set(ranked.slice(0, k).map((r) => r.index));
  return {
    train: docs.filter((_, i) => !held.has(i)),
    val: docs.filter((_, i) => held.has(i)),
  };
}

function splitSingle(doc: Document, valFraction: number, warn: (msg: string) => void): Split {
  const text = doc.text;
  let cut = Math.min(text.length - 1, Math.max(1, Math.round(text.length * (1 - valFraction))));
  // Do not cut a surrogate pair in half (it would leave two lone surrogates).
  if (isLowSurrogate(text.charCodeAt(cut))) cut += cut + 1 < text.length ? 1 : -1;
  if (cut < 1) {
    throw new DataError(`cannot split ${doc.source}: the only document is too short (${text.length} UTF-16 units)`);
  }
  warn(
    `only one document (${doc.source}): holding out the last ${Math.round(valFraction * 100)}% of its text ` +
      'for validation',
  );
  return {
    train: [{ source: doc.source, text: text.slice(0, cut) }],
    val: [{ source: doc.source, text: text.slice(cut) }],
  };
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** 32-bit FNV-1a over UTF-16 code units: fast, stable, and good enough to shuffle documents. */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
