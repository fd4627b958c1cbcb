// The shared JSON reader and value display: the scan accepts exactly what JSON.parse accepts (checked on
// random texts built from JSON's own tokens), depth and size limits hold without recursion, errors are one
// line with a position and no excerpt of the input, and showJson is short, one line and safe on any value.

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { ConfigError, DataError, FormatError, showJson } from '../src/errors.js';
import { readJsonFile } from '../src/io/files.js';
import { MAX_JSON_DEPTH, parseJson, parseJsonLines, scanJson } from '../src/io/json.js';
import { checkedProduct, checkedSum } from '../src/io/sizes.js';
import { Rng } from '../src/random.js';
import { fixtureTree } from './support/files.js';

const { put } = fixtureTree('swat-json-');

/** The message of the error `fn` throws, checked to be of `type` and one line. */
function errorOf(fn: () => unknown, type: new (m: string) => Error = FormatError): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof type, `expected ${type.name}, got ${String(e)}`);
    assert.ok(!e.message.includes('\n'), `one line: ${e.message}`);
    return e.message;
  }
  assert.fail('expected an error');
}

const PIECES = ['{', '}', '[', ']', ',', ':', '"', '\\', 'u', '0', '1', '9', '-', '+', '.', 'e', 'E', ' ', '\n', '\t', 'true', 'false', 'null', 'nul', 'a', '"k"', '\u0001', '\ud800', '"x":', '12', '0.5', '-0', '1e5', '{"a":', '[1,', '\\u00e9', '\\x'];

test('the scan accepts exactly the texts JSON.parse accepts', () => {
  const rng = new Rng(5);
  let accepted = 0;
  for (let t = 0; t < 20_000; t++) {
    let text = '';
    const n = rng.nextUint32() % 12;
    for (let k = 0; k < n; k++) text += PIECES[rng.nextUint32() % PIECES.length];
    let parses = true;
    try {
      JSON.parse(text);
    } catch {
      parses = false;
    }
    assert.equal(scanJson(text, MAX_JSON_DEPTH) === null, parses, JSON.stringify(text));
    if (parses) accepted++;
  }
  assert.ok(accepted > 400, `only ${accepted} valid texts drawn: the check would be vacuous`);
});

test('syntax errors are one line with the position, never V8 excerpt of the input', () => {
  const bad = (text: string) => errorOf(() => parseJson(text, 'f.json', { maxSize: 1000 }));
  assert.equal(bad('{"vocab_size": 258,\n "x": nope}'), 'f.json: not valid JSON (unexpected "o" at line 2, column 8)');
  assert.equal(bad('{"a": '), 'f.json: not valid JSON (unexpected end at column 7)');
  assert.equal(bad('[1,]'), 'f.json: not valid JSON (unexpected "]" at column 4)');
  assert.equal(bad('{"a": 1}\n\n x'), 'f.json: not valid JSON (unexpected "x" at line 3, column 2)');
  assert.equal(bad('"tab\there"'), 'f.json: not valid JSON (unexpected "\\t" at column 5)');
  assert.equal(bad(''), 'f.json: not valid JSON (unexpected end at column 1)');
  assert.equal(bad('\ufeff{}'), 'f.json: not valid JSON (unexpected "\ufeff" at column 1)');
});

test('nesting deeper than the limit and texts over the size limit are refused before JSON.parse', () => {
  const deep = '['.repeat(1_000_000) + ']'.repeat(1_000_000);
  assert.equal(errorOf(() => parseJson(deep, 'h', { maxSize: 1e7 })), 'h: JSON nested deeper than 64 levels (at column 65)');
  const ok = '['.repeat(MAX_JSON_DEPTH) + ']'.repeat(MAX_JSON_DEPTH);
  assert.equal((parseJson(ok, 'h', { maxSize: 1e7 }) as unknown[]).length, 1);
  assert.equal(errorOf(() => parseJson(`{"a":${'{"b":'.repeat(3)}1}}}}`, 'h', { maxSize: 100, maxDepth: 3 })), 'h: JSON nested deeper than 3 levels (at column 16)');
  assert.equal(errorOf(() => parseJson('[1, 2, 3]', 'c.json', { maxSize: 8, error: ConfigError }), ConfigError), 'c.json: 9 characters of JSON, more than the 8 allowed');
  const file = put('big.json', `[${'0,'.repeat(600)}0]`);
  assert.equal(errorOf(() => readJsonFile(file, { maxSize: 1000, error: DataError }), DataError), `${file}: file is 1203 bytes, more than the 1000 allowed for it`);
  writeFileSync(file, '{"ok": [1, 2]}');
  assert.deepEqual(readJsonFile(file, { maxSize: 1000 }), { ok: [1, 2] });
});

test('JSON lines: blank lines skipped, each line parsed and limited on its own, errors name the line', () => {
  assert.deepEqual(parseJsonLines('{"a":1}\n\n  \n[2]\n', 'm.jsonl', { maxSize: 10 }), [
    { line: 1, value: { a: 1 } },
    { line: 4, value: [2] },
  ]);
  assert.equal(errorOf(() => parseJsonLines('{"a":1}\n{"a":', 'm.jsonl', { maxSize: 10 })), 'm.jsonl line 2: not valid JSON (unexpected end at column 6)');
  assert.equal(errorOf(() => parseJsonLines('1\n[11111111111]', 'm.jsonl', { maxSize: 10 })), 'm.jsonl line 2: 13 characters of JSON, more than the 10 allowed');
});

test('showJson: compact JSON cut to 60 characters, one line, iterative on deep, wide and cyclic values', () => {
  assert.equal(showJson([1, 2]), '[1,2]');
  assert.equal(showJson({ a: 'x\ny', b: null }), '{"a":"x\\ny","b":null}');
  assert.equal(showJson(undefined), 'nothing');
  assert.equal(showJson(1e21), '1e+21');
  assert.equal(showJson([NaN, -Infinity]), '[NaN,-Infinity]');
  assert.equal(showJson(new Float32Array([1.5, 2])), '[1.5,2]');
  assert.equal(showJson('x'.repeat(100)), `"${'x'.repeat(58)}…`);
  const deep = JSON.parse('['.repeat(10_000) + ']'.repeat(10_000)) as unknown;
  assert.equal(showJson(deep), `${'['.repeat(59)}…`);
  const wide = Object.fromEntries(Array.from({ length: 1e5 }, (_, i) => [`k${i}`, i]));
  assert.equal(showJson(wide), '{"k0":0,"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k…');
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic['self'] = cyclic;
  assert.equal(showJson(cyclic), '{"a":1,"self":{"a":1,"self":{"a":1,"self":{"a":1,"self":{"a…');
  assert.equal(showJson(() => 1), '[function]');
  assert.equal(showJson({ x: 'é' }, 10), '{"x":"é"}');
});

test('checked sizes: exact below 2^53, Infinity above or for anything not a count', () => {
  assert.equal(checkedProduct(2 ** 20, 2 ** 20, 2 ** 12), 2 ** 52);
  assert.equal(checkedProduct(2 ** 20, 2 ** 20, 2 ** 13), Infinity);
  assert.equal(checkedProduct(1e21, 0), Infinity);
  assert.equal(checkedProduct(2 ** 40, 2 ** 40, 0), 0);
  assert.equal(checkedProduct(1e300, 1e300), Infinity);
  assert.equal(checkedProduct(3, -1), Infinity);
  assert.equal(checkedProduct(3, 0.5), Infinity);
  assert.equal(checkedSum([Number.MAX_SAFE_INTEGER, 1]), Infinity);
  assert.equal(checkedSum([1, 2, 3]), 6);
});
