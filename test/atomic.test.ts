// Tests of crash-safe writing: writeFileAtomic, commitFiles and recoverDir on hand-built interrupted
// states (discard and roll forward), and a real crash test that SIGKILLs a writer process mid-commit.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { FormatError, InputError } from '../src/errors.js';
import { COMMIT_MARKER, PENDING_DIR, commitFiles, recoverDir, writeFileAtomic } from '../src/io/atomic.js';
import { Rng } from '../src/random.js';
import { generationFiles, readGeneration } from './support/atomic-generation.js';

const ROUNDS = 14;
const WRITER = fileURLToPath(new URL('./support/atomic-writer.js', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'swat-atomic-'));
after(() => rmSync(root, { recursive: true, force: true }));

let dirs = 0;
function freshDir(): string {
  return join(root, `d${dirs++}`);
}

function sorted(dir: string): string[] {
  return readdirSync(dir).sort();
}

describe('writeFileAtomic', () => {
  it('creates and replaces a file, leaving no temp file', () => {
    const dir = freshDir();
    mkdirSync(dir);
    const path = join(dir, 'config.json');
    writeFileAtomic(path, '{"v":1}');
    writeFileAtomic(path, Buffer.from('{"v":2}'));
    assert.equal(readFileSync(path, 'utf8'), '{"v":2}');
    assert.deepEqual(sorted(dir), ['config.json']);
  });

  it('fails without creating anything when the directory is missing', () => {
    const dir = freshDir();
    const path = join(dir, 'x');
    assert.throws(() => writeFileAtomic(path, 'data'), { name: 'WriteError', message: `${path}: no such file or directory (ENOENT); ${path} is unchanged` });
    assert.equal(existsSync(dir), false);
  });
});

describe('commitFiles', () => {
  it('creates the directory, writes the set, replaces it, and leaves unnamed files alone', () => {
    const dir = join(freshDir(), 'nested', 'model');
    commitFiles(dir, generationFiles(1));
    assert.equal(readGeneration(dir), 1);
    writeFileSync(join(dir, 'notes.txt'), 'mine');
    commitFiles(dir, generationFiles(2));
    assert.equal(readGeneration(dir), 2);
    assert.equal(readFileSync(join(dir, 'notes.txt'), 'utf8'), 'mine');
    assert.deepEqual(sorted(dir), ['config.json', 'model.safetensors', 'notes.txt', 'optimizer.bin', 'tokenizer.json']);
  });

  it('rejects names that are not plain file names', () => {
    const dir = freshDir();
    for (const name of ['.pending', '../escape', 'a/b', '']) {
      assert.throws(() => commitFiles(dir, { [name]: 'x' }), (e: Error) => {
        return (
          e instanceof InputError &&
          e.message === `commitFiles ${dir}: file name ${JSON.stringify(name)} must be a plain name not starting with "."`
        );
      });
    }
    assert.equal(existsSync(dir), false); // rejected before touching the disk
  });

  it('discards an unfinished commit left by an earlier writer before writing', () => {
    const dir = freshDir();
    commitFiles(dir, generationFiles(1));
    mkdirSync(join(dir, PENDING_DIR));
    writeFileSync(join(dir, PENDING_DIR, 'config.json'), '{"generation": 7');
    commitFiles(dir, { 'config.json': '{"generation": 3}' });
    assert.equal(readFileSync(join(dir, 'config.json'), 'utf8'), '{"generation": 3}');
    assert.equal(existsSync(join(dir, PENDING_DIR)), false);
  });
});

describe('recoverDir', () => {
  /** A directory holding committed generation 1 and a `.pending` with generation 2 copies of `names`. */
  function interrupted(names: string[], cut: boolean): string {
    const dir = freshDir();
    commitFiles(dir, generationFiles(1));
    const pending = join(dir, PENDING_DIR);
    mkdirSync(pending);
    const next = generationFiles(2);
    for (const name of names) {
      const data = Buffer.from(next[name]!);
      writeFileSync(join(pending, name), cut ? data.subarray(0, data.length >> 1) : data);
    }
    return dir;
  }

  it('discards a .pending without commit marker (writer died mid-write): previous files intact', () => {
    const dir = interrupted(['config.json', 'model.safetensors', 'optimizer.bin'], true);
    writeFileSync(join(dir, PENDING_DIR, `${COMMIT_MARKER}.tmp`), '["config.js'); // marker not yet renamed
    recoverDir(dir);
    assert.equal(existsSync(join(dir, PENDING_DIR)), false);
    assert.equal(readGeneration(dir), 1);
  });

  it('rolls a committed .pending forward when some files were already moved in', () => {
    const names = Object.keys(generationFiles(2));
    const dir = interrupted(names, false);
    writeFileSync(join(dir, PENDING_DIR, COMMIT_MARKER), JSON.stringify(names));
    // The writer died after moving two of the four files: the directory is mixed until recovery.
    renameSync(join(dir, PENDING_DIR, 'config.json'), join(dir, 'config.json'));
    renameSync(join(dir, PENDING_DIR, 'optimizer.bin'), join(dir, 'optimizer.bin'));
    assert.throws(() => readGeneration(dir), /mixed generations/);
    recoverDir(dir);
    assert.equal(existsSync(join(dir, PENDING_DIR)), false);
    assert.equal(readGeneration(dir), 2);
    recoverDir(dir); // idempotent
    assert.equal(readGeneration(dir), 2);
  });

  it('rejects a commit marker that is not a list of plain names, or names a lost file', () => {
    const dir = interrupted([], false);
    const marker = join(dir, PENDING_DIR, COMMIT_MARKER);
    writeFileSync(marker, '{"config.json": 1}');
    assert.throws(() => recoverDir(dir), (e: Error) => {
      return e instanceof FormatError && e.message === `${marker}: commit marker is not a JSON array of plain file names`;
    });
    writeFileSync(marker, '["weights.bin"]');
    assert.throws(() => recoverDir(dir), (e: Error) => {
      const pending = join(dir, PENDING_DIR);
      return (
        e instanceof FormatError &&
        e.message === `${marker}: committed file "weights.bin" is in neither ${pending} nor ${dir}`
      );
    });
  });

  it('creates a missing directory', () => {
    const dir = join(freshDir(), 'a', 'b');
    recoverDir(dir);
    assert.deepEqual(readdirSync(dir), []);
  });

  it('removes temp files of dead writers and keeps those of live ones', () => {
    const dir = freshDir();
    mkdirSync(dir);
    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    const deadTemp = `.config.json.tmp-${dead}-0badcafe`;
    const liveTemp = `.config.json.tmp-${process.pid}-0badcafe`;
    for (const name of [deadTemp, liveTemp, 'config.json']) writeFileSync(join(dir, name), 'x');
    recoverDir(dir);
    assert.deepEqual(sorted(dir), [liveTemp, 'config.json']);
  });
});

describe('crash test', () => {
  /** Runs the writer from generation `first`, kills it `delayMs` after its first commit, and returns the
   *  last generation it reported committed. */
  async function runAndKill(dir: string, first: number, delayMs: number): Promise<number> {
    const child = spawn(process.execPath, [WRITER, dir, String(first)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    let timer: NodeJS.Timeout | undefined;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      output += chunk;
      if (timer === undefined && output.includes('\n')) timer = setTimeout(() => child.kill('SIGKILL'), delayMs);
    });
    const signal = await new Promise<NodeJS.Signals | null>((done) => child.on('close', (_code, sig) => done(sig)));
    clearTimeout(timer);
    assert.equal(signal, 'SIGKILL', `writer ended on its own: ${output}`);
    const reported = [...output.matchAll(/committed (\d+)\n/g)].map((m) => Number(m[1]));
    assert.ok(reported.length > 0, 'writer committed nothing before it was killed');
    return reported[reported.length - 1]!;
  }

  it('after SIGKILL at random moments, recoverDir leaves one complete generation', async (t) => {
    const dir = freshDir();
    const rng = new Rng(20240611);
    let generation = 0;
    const outcomes = { rolledForward: 0, discarded: 0, betweenCommits: 0 };
    for (let round = 0; round < ROUNDS; round++) {
      const delayMs = rng.int(300);
      const reported = await runAndKill(dir, generation + 1, delayMs);
      if (existsSync(join(dir, PENDING_DIR, COMMIT_MARKER))) outcomes.rolledForward++;
      else if (existsSync(join(dir, PENDING_DIR))) outcomes.discarded++;
      else outcomes.betweenCommits++;
      recoverDir(dir);
      const found = readGeneration(dir);
      // Every commit that returned survives; at most the one in flight is added on top.
      assert.ok(found === reported || found === reported + 1, `round ${round}: found ${found}, reported ${reported}`);
      assert.ok(!sorted(dir).some((n) => n.startsWith('.')), `round ${round}: left ${sorted(dir).join(', ')}`);
      // progress.json (writeFileAtomic) may not exist yet only if the very first run died before writing it.
      const progressPath = join(dir, 'progress.json');
      if (round > 0 || existsSync(progressPath)) {
        const progress = JSON.parse(readFileSync(progressPath, 'utf8')) as { generation: number; pad: string };
        assert.equal(progress.pad.length, 1 << 20, 'progress.json is complete');
        assert.ok(progress.generation <= found);
      }
      generation = found;
    }
    t.diagnostic(`kills: ${JSON.stringify(outcomes)}`);
    // Most of the writer's time is spent inside commitFiles; if no kill ever landed there, the test
    // exercised nothing.
    assert.ok(outcomes.rolledForward + outcomes.discarded > 0, 'no kill interrupted a commit');
  });
});
