// Tests of the safetensors reader and writer: a hand-built byte-exact file, round trips, F16/BF16/F64
// decoding of known values, F16/BF16 writing (every value of each type round-trips, rounding to nearest
// even, values too large refused), alignment, and every FormatError with its exact message.

import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FormatError, InputError } from '../src/errors.js';
import {
  decodeSafetensors,
  encodeSafetensors,
  type F32Tensor,
} from '../src/io/safetensors.js';
import { f32BitsToBf16, f32BitsToF16 } from '../src/half.js';
import { readSafetensorsFile, writeSafetensorsFile } from '../src/io/files.js';

const FILE = 'model.safetensors';

function hex(s: string): Uint8Array {
  return Uint8Array.from(s.match(/../g)!.map((b) => parseInt(b, 16)));
}

function concat(...parts: Uint8Array[]): Buffer {
  return Buffer.concat(parts);
}

/** A file with a header written by hand: 8-byte length, the JSON text as given (no padding), data. */
function rawFile(header: string, data: Uint8Array = new Uint8Array(0)): Buffer {
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(Buffer.byteLength(header)));
  return concat(length, Buffer.from(header, 'utf8'), data);
}

/** A file with one header entry per tensor, given as JSON values, and the data bytes. */
function fileWith(entries: Record<string, unknown>, data: Uint8Array = new Uint8Array(0)): Buffer {
  return rawFile(JSON.stringify(entries), data);
}

function f32(dtype: string, shape: number[], offsets: number[]): unknown {
  return { dtype, shape, data_offsets: offsets };
}

function bits(a: Float32Array): number[] {
  return [...new Uint32Array(a.buffer, a.byteOffset, a.length)];
}

function decodeError(bytes: Uint8Array): string {
  try {
    decodeSafetensors(bytes, FILE);
  } catch (e) {
    assert.ok(e instanceof FormatError, `expected FormatError, got ${String(e)}`);
    assert.ok(!e.message.includes('\n'), 'message must be one line');
    return e.message;
  }
  assert.fail('decodeSafetensors accepted a bad file');
}

describe('encodeSafetensors', () => {
  it('writes the exact bytes of the format', () => {
    const bytes = encodeSafetensors(
      { a: { data: new Float32Array([1, 2]), shape: [2] }, b: { data: new Float32Array([-0.5]), shape: [1, 1] } },
      { format: 'pt' },
    );
    const header =
      '{"__metadata__":{"format":"pt"},' +
      '"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},' +
      '"b":{"dtype":"F32","shape":[1,1],"data_offsets":[8,12]}}';
    assert.equal(header.length, 141); // padded with 3 spaces to 144 = 0x90
    const expected = concat(
      hex('9000000000000000'),
      Buffer.from(`${header}   `, 'ascii'),
      hex('0000803f'), // 1.0
      hex('00000040'), // 2.0
      hex('000000bf'), // -0.5
    );
    assert.deepEqual(bytes, new Uint8Array(expected));
  });

  it('pads an empty set to 8 header bytes', () => {
    assert.deepEqual(encodeSafetensors({}), new Uint8Array(concat(hex('0800000000000000'), Buffer.from('{}      '))));
  });

  it('lays tensors out in the order given, even with integer-like names', () => {
    const tensors = new Map<string, F32Tensor>([
      ['z', { data: new Float32Array([1]), shape: [1] }],
      ['10', { data: new Float32Array([2, 3]), shape: [2] }],
      ['2', { data: new Float32Array([4]), shape: [] }],
    ]);
    const bytes = Buffer.from(encodeSafetensors(tensors));
    const header = bytes.subarray(8, 8 + Number(bytes.readBigUInt64LE(0))).toString('utf8');
    assert.ok(header.startsWith('{"z":'), header);
    assert.ok(header.indexOf('"10"') < header.indexOf('"2"'), header);
    const decoded = decodeSafetensors(bytes, FILE);
    assert.deepEqual([...decoded.tensors.keys()], ['z', '10', '2']);
    assert.deepEqual([...decoded.tensors.get('10')!.data], [2, 3]);
    assert.deepEqual(decoded.tensors.get('2')!.shape, []);
  });

  it('rejects a shape that does not match the data, and the reserved name', () => {
    assert.throws(
      () => encodeSafetensors({ w: { data: new Float32Array(5), shape: [2, 3] } }),
      (e: Error) =>
        e instanceof InputError && e.message === 'encodeSafetensors: tensor "w": shape [2,3] needs 6 values, data has 5',
    );
    assert.throws(
      () => encodeSafetensors({ w: { data: new Float32Array(1), shape: [-1] } }),
      (e: Error) =>
        e instanceof InputError && e.message === 'encodeSafetensors: tensor "w": shape must be non-negative integers, got [-1]',
    );
    assert.throws(
      () => encodeSafetensors({ __metadata__: { data: new Float32Array(1), shape: [1] } }),
      (e: Error) => e instanceof InputError && e.message === 'encodeSafetensors: tensor name __metadata__ is reserved',
    );
  });
});

describe('decodeSafetensors', () => {
  it('round-trips F32 bit-exactly, with metadata', () => {
    const special = [0, -0, 1e-45, -3.4028234663852886e38, Infinity, -Infinity, NaN, 0.1, Math.PI];
    const random = Array.from({ length: 1000 }, (_, i) => Math.sin(i * 12.9898) * 43758.5453);
    const w = new Float32Array([...special, ...random].slice(0, 1008));
    const tensors = { 'model.w': { data: w, shape: [16, 63] }, empty: { data: new Float32Array(0), shape: [0, 4] } };
    const metadata = { step: '120', note: 'ünïcode "quoted"\nline' };
    const decoded = decodeSafetensors(encodeSafetensors(tensors, metadata), FILE);
    assert.deepEqual(decoded.metadata, metadata);
    const got = decoded.tensors.get('model.w')!;
    assert.deepEqual(got.shape, [16, 63]);
    assert.equal(got.dtype, 'F32');
    assert.deepEqual(bits(got.data), bits(w));
    assert.deepEqual(decoded.tensors.get('empty'), { data: new Float32Array(0), shape: [0, 4], dtype: 'F32' });
  });

  it('keeps a metadata key named __proto__ as data', () => {
    const metadata = JSON.parse('{"__proto__": "p", "k": "v"}') as Record<string, string>;
    const decoded = decodeSafetensors(encodeSafetensors({}, metadata), FILE).metadata;
    assert.deepEqual(Object.entries(decoded), [['__proto__', 'p'], ['k', 'v']]);
  });

  it('returns no metadata when the file has none', () => {
    assert.deepEqual(decodeSafetensors(encodeSafetensors({}), FILE).metadata, {});
  });

  it('reads BF16 as the nearest F32 values', () => {
    // 1.0 = 0x3f80, -2.5 = 0xc020, 0.1 rounds to 0x3dcd = 0.10009765625 (nearest bf16), -inf = 0xff80.
    const bytes = fileWith({ h: f32('BF16', [2, 2], [0, 8]) }, hex('803f20c0cd3d80ff'));
    const t = decodeSafetensors(bytes, FILE).tensors.get('h')!;
    assert.equal(t.dtype, 'BF16');
    assert.deepEqual(t.shape, [2, 2]);
    assert.deepEqual([...t.data], [1, -2.5, 0.10009765625, -Infinity]);
  });

  it('reads F16, including subnormals, infinity, NaN and -0', () => {
    // 1.0 = 0x3c00, -2.5 = 0xc100, 0.1 ~ 0x2e66 = 0.0999755859375, 2^-24 = 0x0001, 65504 = 0x7bff,
    // inf = 0x7c00, NaN = 0x7e00, -0 = 0x8000.
    const bytes = fileWith({ h: f32('F16', [8], [0, 16]) }, hex('003c00c1662e0100ff7b007c007e0080'));
    const data = decodeSafetensors(bytes, FILE).tensors.get('h')!.data;
    assert.deepEqual([...data], [1, -2.5, 0.0999755859375, 2 ** -24, 65504, Infinity, NaN, -0]);
    assert.ok(Object.is(data[7], -0));
  });

  it('reads F64 rounded to F32', () => {
    const data = new Float64Array([0.1, -2.5, 1e300]);
    const bytes = fileWith({ d: f32('F64', [3], [0, 24]) }, new Uint8Array(data.buffer));
    assert.deepEqual([...decodeSafetensors(bytes, FILE).tensors.get('d')!.data], [Math.fround(0.1), -2.5, Infinity]);
  });

  it('copies F32 data that is not 4-aligned, and views data that is', () => {
    // An F16 tensor of 3 values puts the F32 tensor at data offset 6.
    const values = new Float32Array([1.5, -7.25]);
    const file = fileWith(
      { h: f32('F16', [3], [0, 6]), w: f32('F32', [2], [6, 14]) },
      concat(hex('003c003c003c'), new Uint8Array(values.buffer)),
    );
    const w = decodeSafetensors(file, FILE).tensors.get('w')!.data;
    assert.deepEqual([...w], [1.5, -7.25]);
    assert.notEqual(w.buffer, file.buffer);
    // The whole file at byte 1 of a larger buffer: every F32 tensor is unaligned.
    const shifted = new Uint8Array(new ArrayBuffer(file.length + 1), 1);
    shifted.set(file);
    assert.deepEqual([...decodeSafetensors(shifted, FILE).tensors.get('w')!.data], [1.5, -7.25]);
    // An aligned F32 tensor is a view of the file's bytes (weights are not copied twice).
    const aligned = new Uint8Array(encodeSafetensors({ w: { data: values, shape: [2] } }));
    const view = decodeSafetensors(aligned, FILE).tensors.get('w')!.data;
    assert.equal(view.buffer, aligned.buffer);
    assert.deepEqual([...view], [1.5, -7.25]);
  });
});

describe('F16 and BF16 writing', () => {
  const f32Bits = (x: number) => new Uint32Array(Float32Array.of(x).buffer)[0]!;
  /** The file's data bytes as uint16 values, after the header. */
  const halves = (bytes: Uint8Array) => {
    const file = Buffer.from(bytes);
    const start = 8 + Number(file.readBigUInt64LE(0));
    return Array.from({ length: (file.length - start) / 2 }, (_, i) => file.readUInt16LE(start + 2 * i));
  };

  it('every F16 and BF16 value round-trips through the reader and the writer, bit for bit', () => {
    for (const dtype of ['F16', 'BF16'] as const) {
      const all = new Uint8Array(2 * 65536);
      for (let h = 0; h < 65536; h++) new DataView(all.buffer).setUint16(2 * h, h, true);
      const values = decodeSafetensors(fileWith({ h: f32(dtype, [65536], [0, 2 * 65536]) }, all), FILE).tensors.get('h')!.data;
      const isNaN = (h: number) => (dtype === 'F16' ? (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0 : (h & 0x7f80) === 0x7f80 && (h & 0x7f) !== 0);
      const toBits = dtype === 'F16' ? f32BitsToF16 : f32BitsToBf16;
      for (let h = 0; h < 65536; h++) {
        const back = toBits(f32Bits(values[h]!));
        if (isNaN(h)) assert.ok(isNaN(back), `${dtype} NaN ${h} stays NaN`);
        else assert.equal(back, h, `${dtype} ${h.toString(16)}`);
      }
    }
  });

  it('rounds to nearest, ties to even, through subnormals and up to the largest finite value', () => {
    // F16: 1 + 2^-11 is halfway between 1 and 1 + 2^-10 (ties to 1), 1 + 3·2^-11 ties up to 1 + 2^-9;
    // 2^-25 is half the smallest subnormal (ties to 0), 3·2^-25 ties up to 2^-23; 65519 rounds down to
    // 65504 = 0x7bff, the largest finite value.
    assert.equal(f32BitsToF16(f32Bits(1 + 2 ** -11)), 0x3c00);
    assert.equal(f32BitsToF16(f32Bits(1 + 3 * 2 ** -11)), 0x3c02);
    assert.equal(f32BitsToF16(f32Bits(2 ** -25)), 0x0000);
    assert.equal(f32BitsToF16(f32Bits(3 * 2 ** -25)), 0x0002);
    assert.equal(f32BitsToF16(f32Bits(-(2 ** -14) * (1 - 2 ** -11))), 0x8400); // rounds up into the normals
    assert.equal(f32BitsToF16(f32Bits(65519)), 0x7bff);
    assert.equal(f32BitsToF16(f32Bits(65520)), 0x7c00);
    // BF16 keeps 8 bits of significand: 1 + 2^-8 ties to 1, 1 + 3·2^-8 ties up to 1 + 2^-6.
    assert.equal(f32BitsToBf16(f32Bits(1 + 2 ** -8)), 0x3f80);
    assert.equal(f32BitsToBf16(f32Bits(1 + 3 * 2 ** -8)), 0x3f82);
    assert.equal(f32BitsToBf16(f32Bits(-0.1)), 0xbdcd);
    assert.equal(f32BitsToBf16(0x7f7fffff), 0x7f80); // the largest float32 is past bfloat16's largest
  });

  it('writes the dtype in the header and the rounded values as data', () => {
    const t = { w: { data: Float32Array.of(1, -2.5, 0.1, 65504), shape: [2, 2] } };
    const f16 = encodeSafetensors(t, { format: 'pt' }, 'F16');
    assert.deepEqual(halves(f16), [0x3c00, 0xc100, 0x2e66, 0x7bff]);
    const back = decodeSafetensors(f16, FILE).tensors.get('w')!;
    assert.equal(back.dtype, 'F16');
    assert.deepEqual(back.shape, [2, 2]);
    assert.deepEqual([...back.data], [1, -2.5, 0.0999755859375, 65504]);
    assert.deepEqual(halves(encodeSafetensors(t, undefined, 'BF16')), [0x3f80, 0xc020, 0x3dcd, 0x4780]); // 65504 rounds up to 65536 in BF16
  });

  it('refuses a value that the narrower type would turn into infinity, naming tensor, value and index', () => {
    const big = { w: { data: Float32Array.of(1, 2, 65520), shape: [3] } };
    assert.throws(() => encodeSafetensors(big, undefined, 'F16'), {
      name: 'InputError',
      message: 'encodeSafetensors: tensor "w" has 65520 at index 2, beyond the largest finite F16 value (65504)',
    });
    const huge = { w: { data: Float32Array.of(3.4e38), shape: [1] } };
    assert.throws(() => encodeSafetensors(huge, undefined, 'BF16'), {
      name: 'InputError',
      message: 'encodeSafetensors: tensor "w" has 3.3999999521443642e+38 at index 0, beyond the largest finite BF16 value (3.3895313892515355e+38)',
    });
  });
});

describe('decodeSafetensors errors', () => {
  const w8 = hex('0000803f00000040'); // two F32 values

  it('file shorter than 8 bytes', () => {
    assert.equal(decodeError(hex('0102030405')), `${FILE}: file is 5 bytes, too short for the 8-byte header length`);
  });

  it('header length past the end of the file', () => {
    assert.equal(
      decodeError(concat(hex('6400000000000000'), Buffer.from('{}'))),
      `${FILE}: header length 100 runs past the end of the file (10 bytes)`,
    );
    assert.equal(
      decodeError(hex('ffffffffffffffff')),
      `${FILE}: header length 18446744073709551615 runs past the end of the file (8 bytes)`,
    );
  });

  it('header not UTF-8, not JSON, not an object', () => {
    assert.equal(decodeError(concat(hex('0200000000000000'), hex('c328'))), `${FILE}: header is not valid UTF-8`);
    assert.equal(decodeError(rawFile('{"a": ')), `${FILE}: header: not valid JSON (unexpected end at column 7)`);
    assert.equal(decodeError(rawFile('[1,2]')), `${FILE}: header is not a JSON object, got [1,2]`);
    assert.equal(decodeError(rawFile('null')), `${FILE}: header is not a JSON object, got null`);
  });

  it('entry not an object', () => {
    assert.equal(decodeError(fileWith({ w: 3 })), `${FILE}: tensor "w": entry must be an object, got 3`);
  });

  it('unknown or missing dtype', () => {
    assert.equal(
      decodeError(fileWith({ w: f32('I32', [2], [0, 8]) }, w8)),
      `${FILE}: tensor "w": unknown dtype "I32" (expected F32, F16, BF16, F64 or I8)`,
    );
    assert.equal(
      decodeError(fileWith({ w: { shape: [2], data_offsets: [0, 8] } }, w8)),
      `${FILE}: tensor "w": unknown dtype nothing (expected F32, F16, BF16, F64 or I8)`,
    );
  });

  it('shape not integers', () => {
    assert.equal(
      decodeError(fileWith({ w: f32('F32', [2.5], [0, 8]) }, w8)),
      `${FILE}: tensor "w": shape must be an array of non-negative integers, got [2.5]`,
    );
    assert.equal(
      decodeError(fileWith({ w: f32('F32', ['2'] as unknown as number[], [0, 8]) }, w8)),
      `${FILE}: tensor "w": shape must be an array of non-negative integers, got ["2"]`,
    );
    assert.equal(
      decodeError(fileWith({ w: { dtype: 'F32', shape: 2, data_offsets: [0, 8] } }, w8)),
      `${FILE}: tensor "w": shape must be an array of non-negative integers, got 2`,
    );
  });

  it('data_offsets malformed or not matching shape × dtype size', () => {
    assert.equal(
      decodeError(fileWith({ w: f32('F32', [2], [8, 0]) }, w8)),
      `${FILE}: tensor "w": data_offsets must be [begin, end] with integers 0 <= begin <= end, got [8,0]`,
    );
    assert.equal(
      decodeError(fileWith({ w: f32('F32', [2], [-1, 7]) }, w8)),
      `${FILE}: tensor "w": data_offsets must be [begin, end] with integers 0 <= begin <= end, got [-1,7]`,
    );
    assert.equal(
      decodeError(fileWith({ w: f32('F32', [3], [0, 8]) }, w8)),
      `${FILE}: tensor "w": data_offsets [0,8] hold 8 bytes, shape [3] of F32 needs 12`,
    );
    assert.equal(
      decodeError(fileWith({ w: f32('BF16', [2], [0, 8]) }, w8)),
      `${FILE}: tensor "w": data_offsets [0,8] hold 8 bytes, shape [2] of BF16 needs 4`,
    );
  });

  it('overlapping offsets', () => {
    assert.equal(
      decodeError(fileWith({ a: f32('F32', [2], [0, 8]), b: f32('F32', [2], [4, 12]) }, hex('00'.repeat(12)))),
      `${FILE}: tensors "a" and "b" overlap: data_offsets [0,8] and [4,12]`,
    );
  });

  it('offsets not covering the buffer: a gap, or bytes after the last tensor', () => {
    assert.equal(
      decodeError(fileWith({ a: f32('F32', [1], [0, 4]), b: f32('F32', [1], [8, 12]) }, hex('00'.repeat(12)))),
      `${FILE}: data bytes [4, 8) belong to no tensor`,
    );
    assert.equal(
      decodeError(fileWith({ a: f32('F32', [2], [0, 8]) }, hex('00'.repeat(12)))),
      `${FILE}: data bytes [8, 12) belong to no tensor`,
    );
  });

  it('offsets past the end of the buffer: a file cut short', () => {
    const good = encodeSafetensors({
      a: { data: new Float32Array([1, 2]), shape: [2] },
      b: { data: new Float32Array([3]), shape: [1] },
    });
    assert.equal(
      decodeError(good.subarray(0, good.length - 3)),
      `${FILE}: truncated: tensor "b" ends at data byte 12, the file holds only 9 data bytes`,
    );
    // Cut inside the header: its length now runs past the end.
    assert.equal(decodeError(good.subarray(0, 20)), `${FILE}: header length 112 runs past the end of the file (20 bytes)`);
  });

  it('metadata not an object of strings', () => {
    assert.equal(
      decodeError(fileWith({ __metadata__: { step: 5 } })),
      `${FILE}: __metadata__ "step" must be a string, got 5`,
    );
    assert.equal(decodeError(fileWith({ __metadata__: 'x' })), `${FILE}: __metadata__ must be an object, got "x"`);
  });
});

describe('safetensors files', () => {
  it('writes atomically and reads back', () => {
    const dir = mkdtempSync(join(tmpdir(), 'swat-safetensors-'));
    try {
      const path = join(dir, FILE);
      writeSafetensorsFile(path, { w: { data: new Float32Array([1, 2, 3]), shape: [3] } }, { v: '1' });
      writeSafetensorsFile(path, { w: { data: new Float32Array([4, 5]), shape: [1, 2] } }, { v: '2' });
      assert.deepEqual(readdirSync(dir), [FILE]); // no temp file left behind
      const read = readSafetensorsFile(path);
      assert.deepEqual(read.metadata, { v: '2' });
      assert.deepEqual([...read.tensors.get('w')!.data], [4, 5]);
      writeFileSync(path, hex('0102'));
      assert.throws(() => readSafetensorsFile(path), {
        name: 'FormatError',
        message: `${path}: file is 2 bytes, too short for the 8-byte header length`,
      });
      const missing = join(dir, 'missing.safetensors');
      assert.throws(() => readSafetensorsFile(missing), {
        name: 'InputError',
        message: `${missing}: cannot read safetensors file (ENOENT)`,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
