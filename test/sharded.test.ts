// Sharded checkpoints (Hugging Face's model.safetensors.index.json + shards): the split rule, the size
// syntax of --max-shard-size, the files written, reading them back tensor for tensor, the single file
// winning over an index as in transformers, and every inconsistency between index and shards as one line.

import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { encodeSafetensors, type F32Tensor } from '../src/io/safetensors.js';
import { dirSource } from '../src/io/files.js';
import { WEIGHTS_INDEX_FILE, WeightFiles, parseShardSize, planShards, shardName, weightFiles } from '../src/io/sharded.js';
import { fixtureTree } from './support/files.js';

const tensor = (n: number, start = 0): F32Tensor => ({ data: Float32Array.from({ length: n }, (_, i) => start + i), shape: [n] });

/** Four tensors of 40, 8, 24 and 100 F32 bytes. */
function tensors(): Map<string, F32Tensor> {
  return new Map([['a', tensor(10)], ['b', tensor(2, 100)], ['c', tensor(6, 200)], ['d', tensor(25, 300)]]);
}

function writeAll(dir: string, files: Record<string, Uint8Array | string>): void {
  for (const [name, data] of Object.entries(files)) writeFileSync(join(dir, name), data);
}

function read(files: WeightFiles, name: string): number[] {
  const out = new Float32Array(files.entries.get(name)!.size);
  files.readInto(name, out);
  return [...out];
}

describe('writing', () => {
  it('splits in order, starting a shard when the next tensor would pass the limit, a larger one alone', () => {
    const sizes = [{ name: 'a', bytes: 40 }, { name: 'b', bytes: 8 }, { name: 'c', bytes: 24 }, { name: 'd', bytes: 100 }, { name: 'e', bytes: 4 }];
    // huggingface_hub closes a larger tensor's shard at once and keeps filling the open one after it.
    assert.deepEqual(planShards(sizes, 48), [['a', 'b'], ['d'], ['c', 'e']]);
    assert.deepEqual(planShards(sizes, 1000), [['a', 'b', 'c', 'd', 'e']]);
    assert.deepEqual(planShards(sizes, Infinity), [['a', 'b', 'c', 'd', 'e']]);
    assert.equal(shardName(0, 3), 'model-00001-of-00003.safetensors');
  });

  it('takes the sizes transformers takes: KB, MB, GB in powers of 1000, KiB, MiB, GiB of 1024, or bytes', () => {
    assert.equal(parseShardSize('5GB'), 5e9);
    assert.equal(parseShardSize('500MB'), 5e8);
    assert.equal(parseShardSize('2GiB'), 2 * 2 ** 30);
    assert.equal(parseShardSize('100kb'), 1e5);
    assert.equal(parseShardSize('1.5 MB'), 1.5e6);
    assert.equal(parseShardSize('4096'), 4096);
    for (const bad of ['', 'GB', '5 XB', '-1MB', '0', '1e3', '0.1B']) assert.equal(parseShardSize(bad), null, bad);
  });

  it('writes one model.safetensors when everything fits, else shards and a sorted index', () => {
    assert.deepEqual(Object.keys(weightFiles(tensors(), { format: 'pt' })), ['model.safetensors']);
    assert.deepEqual(Object.keys(weightFiles(tensors(), { format: 'pt' }, { maxShardBytes: 172 })), ['model.safetensors']);
    const files = weightFiles(tensors(), { format: 'pt' }, { maxShardBytes: 48, dtype: 'F32' });
    assert.deepEqual(Object.keys(files).sort(), [
      'model-00001-of-00003.safetensors', 'model-00002-of-00003.safetensors', 'model-00003-of-00003.safetensors', WEIGHTS_INDEX_FILE,
    ]);
    assert.deepEqual(JSON.parse(files[WEIGHTS_INDEX_FILE] as string), {
      metadata: { total_size: 172 },
      weight_map: {
        a: 'model-00001-of-00003.safetensors',
        b: 'model-00001-of-00003.safetensors',
        c: 'model-00003-of-00003.safetensors',
        d: 'model-00002-of-00003.safetensors',
      },
    });
    // In half precision the same limit holds twice the values.
    const half = weightFiles(tensors(), {}, { maxShardBytes: 48, dtype: 'BF16' });
    assert.deepEqual(JSON.parse(half[WEIGHTS_INDEX_FILE] as string).metadata, { total_size: 86 });
    assert.equal(Object.keys(half).length, 3);
  });
});

describe('reading', () => {
  it('reads shards back tensor for tensor, with the dtypes and the first shard metadata', () => {
    const { root } = fixtureTree('swat-sharded-');
    writeAll(root, weightFiles(tensors(), { format: 'pt' }, { maxShardBytes: 48 }));
    const files = WeightFiles.openDir(dirSource(root));
    try {
      assert.equal(files.path, join(root, WEIGHTS_INDEX_FILE));
      assert.equal(files.shards.length, 3);
      assert.deepEqual(files.dtypes, ['F32']);
      assert.deepEqual(files.metadata, { format: 'pt' });
      assert.deepEqual([...files.entries.keys()].sort(), ['a', 'b', 'c', 'd']);
      assert.equal(files.entries.get('d')!.file, join(root, 'model-00002-of-00003.safetensors'));
      // Out of shard order, so the open shard changes back and forth.
      assert.deepEqual(read(files, 'd'), [...tensor(25, 300).data]);
      assert.deepEqual(read(files, 'a'), [...tensor(10).data]);
      assert.deepEqual(read(files, 'c'), [...tensor(6, 200).data]);
      assert.deepEqual(read(files, 'b'), [100, 101]);
    } finally {
      files.close();
    }
  });

  it('prefers model.safetensors to an index beside it, as transformers does', () => {
    const { root } = fixtureTree('swat-sharded-');
    writeAll(root, weightFiles(tensors(), {}, { maxShardBytes: 48 }));
    writeFileSync(join(root, 'model.safetensors'), encodeSafetensors({ only: tensor(1) }));
    const files = WeightFiles.openDir(dirSource(root));
    assert.deepEqual([...files.entries.keys()], ['only']);
    files.close();
  });

  it('says what is missing, or how index and shards disagree, in one line naming the file', () => {
    const { root } = fixtureTree('swat-sharded-');
    const index = join(root, WEIGHTS_INDEX_FILE);
    const fails = (message: string, name = 'FormatError') => assert.throws(() => WeightFiles.openDir(dirSource(root)), { name, message });
    fails(`${join(root, 'model.safetensors')} not found (nor a sharded ${WEIGHTS_INDEX_FILE})`, 'InputError');
    const reset = () => writeAll(root, weightFiles(tensors(), {}, { maxShardBytes: 48 }));
    const edit = (change: (j: { weight_map: Record<string, unknown>; metadata?: unknown }) => void) => {
      reset();
      const j = JSON.parse(readFileSync(index, 'utf8'));
      change(j);
      writeFileSync(index, JSON.stringify(j));
    };
    edit((j) => void (j.weight_map['a'] = '../model-00001-of-00003.safetensors'));
    fails(`${index}: weight_map gives tensor "a" the shard "../model-00001-of-00003.safetensors", expected a file name ending in .safetensors`);
    edit((j) => void (j.weight_map['a'] = 'model.bin'));
    fails(`${index}: weight_map gives tensor "a" the shard "model.bin", expected a file name ending in .safetensors`);
    edit((j) => void (j.weight_map = {}));
    fails(`${index}: weight_map is empty`);
    edit((j) => void (j.weight_map = ['a'] as never));
    fails(`${index}: "weight_map" must be an object of tensor names to shard files, got ["a"]`);
    edit((j) => void (j.metadata = 7));
    fails(`${index}: "metadata" must be an object, got 7`);
    edit((j) => void (j.weight_map['e'] = 'model-00001-of-00003.safetensors'));
    fails(`${index}: weight_map places tensor "e" in "model-00001-of-00003.safetensors", which has no such tensor`);
    edit((j) => void delete j.weight_map['b']);
    fails(`${join(root, 'model-00001-of-00003.safetensors')}: tensor "b" is in this shard, but ${index} is not in its weight_map`);
    edit((j) => void (j.weight_map['b'] = 'model-00002-of-00003.safetensors'));
    fails(`${join(root, 'model-00001-of-00003.safetensors')}: tensor "b" is in this shard, but ${index} places it in "model-00002-of-00003.safetensors"`);
    reset();
    rmSync(join(root, 'model-00002-of-00003.safetensors'));
    fails(`${index} names shard "model-00002-of-00003.safetensors", which is not in the directory`, 'InputError');
    reset();
    writeFileSync(join(root, 'model-00003-of-00003.safetensors'), 'not a safetensors file');
    fails(`${join(root, 'model-00003-of-00003.safetensors')}: header length 7021991845529153390 runs past the end of the file (22 bytes)`);
    writeFileSync(index, '{"weight_map": ');
    fails(`${index}: not valid JSON (unexpected end at column 16)`);
  });
});
