// Child process of the crash test in test/atomic.test.ts: commits generation after generation of a
// model-directory-like file set into a directory until it is killed. After each commit returns it prints
// "committed <gen>" (so the test knows what must survive), then replaces progress.json with writeFileAtomic.
// Usage: node atomic-writer.js <dir> <first generation>. Without arguments (the test runner may load every
// file under a test folder) it does nothing.

import { join } from 'node:path';
import { commitFiles, writeFileAtomic } from '../../src/io/atomic.js';
import { generationFiles } from './atomic-generation.js';

const [dir, first] = process.argv.slice(2);
if (dir !== undefined && first !== undefined) {
  for (let gen = Number(first); ; gen++) {
    commitFiles(dir, generationFiles(gen));
    process.stdout.write(`committed ${gen}\n`);
    writeFileAtomic(join(dir, 'progress.json'), JSON.stringify({ generation: gen, pad: 'x'.repeat(1 << 20) }));
  }
}
