// Hostile model files through the real swat command: deep JSON, huge sizes, non-finite weights, ids that are
// not indices, multi-line parser messages, a damaged token cache. Each must end in exactly one line on
// stderr naming the file, field or tensor and the value, a non-zero exit and no stack trace — or, for the
// token cache, a rebuild that says why. Every case here crashed, hung or was accepted before.

import assert from 'node:assert/strict';
import { cpSync, readdirSync, readFileSync, statSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fails, failsWithin, ok, swat } from './support/cli.js';
import { fixtureTree } from './support/files.js';

const { root, put } = fixtureTree('swat-hostile-');
const model = join(root, 'model');
ok('init', '--out', model, '--layers', '2', '--dim', '16', '--heads', '2', '--window', '4', '--intermediate-size', '24', '--seed', '1');

/** A copy of the model with one file edited; returns its directory. */
function variant(name: string, file: string, edit: (content: Buffer) => string | Buffer): string {
  const dir = join(root, name);
  cpSync(model, dir, { recursive: true });
  writeFileSync(join(dir, file), edit(readFileSync(join(dir, file))));
  return dir;
}

/** A copy of the model whose config.json has `patch` applied (undefined deletes a field). */
function withConfig(name: string, patch: Record<string, unknown>): string {
  return variant(name, 'config.json', (text) => JSON.stringify({ ...(JSON.parse(text.toString()) as object), ...patch }));
}

/** A copy of the model whose tokenizer.json is rewritten by `edit`. */
function withTokenizer(name: string, edit: (j: Record<string, any>) => void): string {
  return variant(name, 'tokenizer.json', (text) => {
    const j = JSON.parse(text.toString()) as Record<string, any>;
    edit(j);
    return JSON.stringify(j);
  });
}

/** A safetensors file holding `header` as its JSON header and no data. */
function safetensorsWithHeader(header: string): Buffer {
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(Buffer.byteLength(header)));
  return Buffer.concat([length, Buffer.from(header)]);
}

const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

test('deeply nested JSON in a safetensors header, config.json or tokenizer.json: the depth limit, one line', () => {
  // 10 KB of [[[…]]]: serialising it into the error message overflowed the stack.
  const header = variant('deep-header', 'model.safetensors', () => safetensorsWithHeader(nested(5000)));
  fails(`${join(header, 'model.safetensors')}: header: JSON nested deeper than 64 levels (at column 65)`, 'score', '--model', header, '--ids', '1,2');
  const config = variant('deep-config', 'config.json', (text) => `{"window_size": ${nested(5000)}, ${text.toString().trim().slice(1)}`);
  fails(`${join(config, 'config.json')}: JSON nested deeper than 64 levels (at line 1, column 80)`, 'info', '--model', config);
  const deepObject = '{"a":'.repeat(5000) + '1' + '}'.repeat(5000);
  const tok = variant('deep-tokenizer', 'tokenizer.json', (text) => {
    const j = JSON.parse(text.toString()) as Record<string, unknown>;
    j['pre_tokenizer'] = '@';
    return JSON.stringify(j).replace('"@"', deepObject);
  });
  // The file's own object is the first level: the 64th '{"a":' of the value is one too many.
  const column = readFileSync(join(tok, 'tokenizer.json'), 'utf8').indexOf(deepObject) + 5 * 63 + 1;
  fails(`${join(tok, 'tokenizer.json')}: JSON nested deeper than 64 levels (at column ${column})`, 'info', '--model', tok);
});

test('huge sizes in config.json are refused by their limits before anything is allocated (or hangs)', () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ vocab_size: 1e21 }, 'field "vocab_size" is 1e+21, more than the limit of 2097152'],
    [{ window_size: 1e9 }, 'field "window_size" is 1000000000, more than the limit of 1048576'],
    [{ num_hidden_layers: 1e9 }, 'field "num_hidden_layers" is 1000000000, more than the limit of 1024'],
    [{ num_hidden_layers: 1e5 }, 'field "num_hidden_layers" is 100000, more than the limit of 1024'],
    [{ eos_token_id: 1e15 }, 'field "eos_token_id" is 1000000000000000, outside the vocabulary of 258'],
  ];
  cases.forEach(([patch, message], i) => {
    const dir = withConfig(`huge-${i}`, patch);
    fails(`${join(dir, 'config.json')}: ${message}`, 'score', '--model', dir, '--ids', '1,2');
  });
});

test('a config claiming a 3.4 GB model next to a small weights file fails on the header, within 2 GiB of memory', () => {
  const dir = withConfig('claims-big', { num_hidden_layers: 250, hidden_size: 512, num_heads: 8, intermediate_size: 1536, alibi_slopes: undefined });
  const weights = join(dir, 'model.safetensors');
  failsWithin(2048, `${weights}: tensor "model.embeddings.weight" has shape [258, 16], the config needs [258, 512]`, 'score', '--model', dir, '--ids', '1,2');
  // The same bound lets the real model load: the limit measures the claim, not Node.
  assert.match(swat('score', '--model', model, '--ids', '1,2').out, /"logprobs"/);
});

test('a safetensors header of absurd length or a tensor of absurd shape: one line, nothing allocated', () => {
  const long = variant('long-header', 'model.safetensors', () => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(150_000_000n);
    return b;
  });
  truncateSync(join(long, 'model.safetensors'), 200_000_000); // sparse: the length is plausible for the file
  fails(`${join(long, 'model.safetensors')}: header length 150000000 is more than the 100000000 bytes the format allows`, 'score', '--model', long, '--ids', '1');
  const shape = variant('huge-shape', 'model.safetensors', () =>
    safetensorsWithHeader(JSON.stringify({ w: { dtype: 'F32', shape: [1e15, 1e15], data_offsets: [0, 8] } })),
  );
  fails(
    `${join(shape, 'model.safetensors')}: tensor "w": data_offsets [0,8] hold 8 bytes, shape [1000000000000000,1000000000000000] of F32 needs more than 2^53`,
    'score', '--model', shape, '--ids', '1',
  );
});

test('one NaN in model.safetensors: every command refuses the weights, naming tensor and index', () => {
  const dir = variant('nan', 'model.safetensors', (bytes) => {
    const dataStart = 8 + Number(bytes.readBigUInt64LE(0));
    bytes.writeFloatLE(NaN, dataStart + 40); // value 10 of the first tensor
    return bytes;
  });
  const message = `${join(dir, 'model.safetensors')}: tensor "model.embeddings.weight" has a non-finite value (NaN) at index 10`;
  fails(message, 'score', '--model', dir, '--ids', '1,2');
  fails(message, 'generate', '--model', dir, '--ids', '1,2', '--max-new-tokens', '3', '--json');
  fails(message, 'generate', '--model', dir, '--prompt', 'hi', '--max-new-tokens', '3');
  fails(message, 'eval', 'probe', '--model', dir);
});

test('finite weights that overflow float32 on the way to the logits: refused, not printed as null', () => {
  const dir = variant('overflow', 'model.safetensors', (bytes) => {
    const dataStart = 8 + Number(bytes.readBigUInt64LE(0));
    for (let i = 0; i < 40; i++) bytes.writeFloatLE(3e38, dataStart + 4 * i); // the embeddings of ids 0-2
    return bytes;
  });
  fails('the model computed a non-finite loss (NaN at index 0): its weights overflow float32', 'score', '--model', dir, '--ids', '1,2,3');
  fails('the model computed a non-finite logit (Infinity at index 0): its weights overflow float32', 'generate', '--model', dir, '--ids', '1,2', '--json');
});

test('tokenizer.json ids that are not indices into the token table, and BOS/EOS in config.json', () => {
  const big = withTokenizer('tok-big-id', (j) => void (j['model'].vocab['zz'] = 4294967295));
  fails(`${join(big, 'tokenizer.json')}: model.vocab "zz" has id 4294967295, expected an integer in [0, 2097152)`, 'info', '--model', big);
  const eos = withTokenizer('tok-eos', (j) => void (j['added_tokens'][1].id = 1e15));
  fails(`${join(eos, 'tokenizer.json')}: added_tokens[1] has id 1000000000000000, expected an integer in [0, 2097152)`, 'info', '--model', eos);
  // The same file given to training, which wrote the EOS into the token cache before.
  const corpus = put('corpus/a.txt', 'Some text to train on. '.repeat(20));
  fails(`${join(eos, 'tokenizer.json')}: added_tokens[1] has id 1000000000000000, expected an integer in [0, 2097152)`,
    'train', '--data', corpus, '--tokenizer', join(eos, 'tokenizer.json'), '--out', join(root, 'never'), '--layers', '1', '--dim', '8', '--heads', '2', '--window', '4', '--steps', '1');
  // A config whose EOS is inside vocab_size but past the tokenizer's table.
  const config = withConfig('config-eos', { vocab_size: 300, eos_token_id: 290 });
  fails(`${join(config, 'config.json')}: field "eos_token_id" is 290, outside the 258 tokens of ${join(config, 'tokenizer.json')}`, 'info', '--model', config);
});

test("JSON.parse's own message quotes the input over two lines: ours is one line with the position", () => {
  const dir = variant('bad-json', 'config.json', () => '{"vocab_size": 258,\n "x": nope}');
  fails(`${join(dir, 'config.json')}: not valid JSON (unexpected "o" at line 2, column 8)`, 'info', '--model', dir);
});

test('the token cache: a same-size edit with its mtime put back, and a flipped token byte, are rebuilt with the reason', () => {
  const doc = put('cached/one.txt', 'The first document of the corpus. '.repeat(20));
  put('cached/two.txt', 'The second document of the corpus. '.repeat(20));
  const cache = join(root, 'cache');
  let runs = 0; // a fresh --out each time: only the cache is shared
  const train = () => swat('train', '--data', join(root, 'cached'), '--tokenizer', 'byte', '--cache', cache, '--out', join(root, `cached-run-${runs++}`), '--layers', '1', '--dim', '8', '--heads', '2', '--window', '4', '--steps', '1', '--seq-len', '8', '--batch-size', '1', '--checkpoint-interval', '0');
  const reason = () => {
    const r = train();
    assert.equal(r.code, 0, r.err);
    return /: (tokenized \(.*?\)|token cache reused), /.exec(r.err)?.[1];
  };
  assert.equal(reason(), 'tokenized (no cache yet)');
  assert.equal(reason(), 'token cache reused');
  const { atime, mtime, size } = statSync(doc);
  writeFileSync(doc, readFileSync(doc, 'utf8').replace('first', 'frist'));
  utimesSync(doc, atime, mtime);
  assert.equal(statSync(doc).size, size);
  assert.equal(reason(), `tokenized (${doc} changed)`);
  const entry = join(cache, readdirOne(cache));
  const tokens = readdirOne(entry, /^tokens-/);
  const bytes = readFileSync(join(entry, tokens));
  bytes[5]! ^= 0x10;
  writeFileSync(join(entry, tokens), bytes);
  assert.equal(reason(), `tokenized (${tokens} does not match its checksum)`);
  assert.equal(reason(), 'token cache reused');
});

function readdirOne(dir: string, pattern = /./): string {
  const names = readdirSync(dir).filter((n) => pattern.test(n));
  assert.equal(names.length, 1, `${dir}: ${names.join(', ')}`);
  return names[0]!;
}
