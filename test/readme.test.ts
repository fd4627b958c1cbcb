// The README's Library example, as a user would have it: compiled by TypeScript (strict) against the
// package's published types (`import … from 'swat'` resolved through package.json), then run on a small
// model.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { SWAT_ENV } from './support/cli.js';
import { fixtureTree } from './support/files.js';
import { randomModelDir } from './support/models.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

function libraryExample(): string {
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Library'));
  const code = /```ts\n([^]*?)```/.exec(section);
  assert.ok(code, 'README.md: no ```ts block in the Library section');
  return code[1]!;
}

test('the README Library example type-checks against the published types and runs', () => {
  const { root } = fixtureTree('swat-readme-');
  const app = join(root, 'app');
  mkdirSync(join(app, 'node_modules'), { recursive: true });
  symlinkSync(REPO, join(app, 'node_modules', 'swat'), 'dir');
  writeFileSync(join(app, 'package.json'), JSON.stringify({ type: 'module' }));
  writeFileSync(join(app, 'example.ts'), libraryExample());
  writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      strict: true, target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', outDir: 'out', skipLibCheck: false,
      types: ['node'], typeRoots: [join(REPO, 'node_modules', '@types')],
    },
    files: ['example.ts'],
  }));
  const tsc = spawnSync(process.execPath, [join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', app], { encoding: 'utf8' });
  assert.equal(tsc.status, 0, `tsc:\n${tsc.stdout}${tsc.stderr}`);
  const run = spawnSync(process.execPath, [join(app, 'out', 'example.js'), randomModelDir(root)], { encoding: 'utf8', env: SWAT_ENV });
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /\n\d+ \+ 40 tokens, length\n/);
  assert.match(run.stdout, /\nperplexity \d+\.\d\d, \d\.\d{3} bits per byte\n/);
});
