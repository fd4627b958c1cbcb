// swat export: write a model directory as the PyTorch / Hugging Face side reads it (src/model/export.ts).

import { parseShardSize } from '../../io/sharded.js';
import { exportModel } from '../../model/export.js';
import type { ModelFileDtype } from '../../model/store.js';
import { type CommandSpec, type Parsed, type ValueCheck, flag, oneOf, required, str } from '../args.js';
import { print } from '../output.js';

const SHARD_SIZE: ValueCheck = { test: (s) => parseShardSize(s) !== null, expected: 'a size such as 5GB, 500MB, 2GiB or a number of bytes' };

export const exportCommand: CommandSpec = {
  name: 'export',
  summary: "write a model directory for PyTorch / Hugging Face: F32, F16 or BF16 weights, sharded when large, companion files",
  usage: '--model DIR --out DIR [--dtype f32|f16|bf16|q8] [--max-shard-size SIZE] [--force]',
  options: {
    model: { type: 'string', arg: 'DIR', help: 'model directory to read' },
    out: { type: 'string', arg: 'DIR', help: 'directory to write' },
    dtype: { type: 'string', arg: 'T', check: oneOf('f32', 'f16', 'bf16', 'q8'), help: "weight dtype (q8: swat's 8-bit blocks, for `--dtype q8` inference; PyTorch cannot read it)", default: 'f32' },
    'max-shard-size': { type: 'string', arg: 'SIZE', check: SHARD_SIZE, help: 'most tensor bytes per weights file; more makes shards and an index', default: '5GB' },
    force: { type: 'boolean', help: 'replace a model already in --out' },
  },
};

export function runExport(v: Parsed): void {
  const from = required(str(v, 'model'), 'model', 'export');
  const out = required(str(v, 'out'), 'out', 'export');
  const dtype = str(v, 'dtype')!.toUpperCase() as ModelFileDtype;
  const r = exportModel(from, out, { dtype, maxShardBytes: parseShardSize(str(v, 'max-shard-size')!)!, force: flag(v, 'force') });
  if (r.swatOnly.length > 0) {
    process.stderr.write(
      `warning: ${from} uses options the authors' PyTorch class does not have: ${r.swatOnly.join(', ')}. ` +
        'SWATForCausalLM ignores these config.json fields: the model loads there without an error and computes other logits. ' +
        'A loader must implement them (docs/pytorch.md).\n',
    );
  }
  print(`wrote ${out} (${dtype}): ${r.files.join(', ')}\n`);
}
