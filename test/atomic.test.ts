// Tests of crash-safe writing: writeFileAtomic, commitFiles and recoverDir on hand-built interrupted
// states (discard and roll forward); readCommitted on the same states and beside a live writer process
// (readers never write); full disks (injected, and a small tmpfs where it can be mounted); and a real
// crash test that SIGKILLs a writer process mid-commit.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { FormatError, InputError } from '../src/errors.js';
import { COMMIT_MARKER, PENDING_DIR, commitFiles, readCommitted, recoverDir, writeFileAtomic } from '../src/io/atomic.js';
import { Rng } from '../src/random.js';
import { GENERATION_FILES, generationFiles, generationOf, readGeneration } from './support/atomic-generation.js';

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

/** Every entry under `dir` with its inode, size and times: equal before and after means nothing was
 *  written, renamed or removed. */
function fingerprint(dir: string): string {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort().map((name) => {
    const s = statSync(join(dir, name), { bigint: true });
    return `${name} ${s.ino} ${s.size} ${s.mtimeNs} ${s.ctimeNs}`;
  }).join('\n');
}

/** Runs `fn` as if the disk had `bytes` free for this process's durable writes (the test hook of atomic.ts). */
function withDiskFree<T>(bytes: number, fn: () => T): T {
  process.env['SWAT_TEST_DISK_FREE_BYTES'] = String(bytes);
  try {
    return fn();
  } finally {
    delete process.env['SWAT_TEST_DISK_FREE_BYTES'];
  }
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

describe('readCommitted', () => {
  const names = Object.keys(generationFiles(2));

  it('reads the previous set while a commit is unfinished, and writes nothing', () => {
    const dir = interrupted(['config.json', 'model.safetensors'], true);
    writeFileSync(join(dir, PENDING_DIR, `${COMMIT_MARKER}.tmp`), '["config.js'); // marker not yet renamed
    const before = fingerprint(dir);
    assert.equal(generationOf(readCommitted(dir, GENERATION_FILES), dir), 1);
    assert.equal(fingerprint(dir), before);
  });

  it('reads the new set when its writer died after the commit point, some files already moved', () => {
    const dir = interrupted(names, false);
    writeFileSync(join(dir, PENDING_DIR, COMMIT_MARKER), JSON.stringify(names));
    renameSync(join(dir, PENDING_DIR, 'config.json'), join(dir, 'config.json'));
    renameSync(join(dir, PENDING_DIR, 'optimizer.bin'), join(dir, 'optimizer.bin'));
    assert.throws(() => readGeneration(dir), /mixed generations/); // what a plain read would see
    const before = fingerprint(dir);
    assert.equal(generationOf(readCommitted(dir, GENERATION_FILES), dir), 2);
    assert.equal(fingerprint(dir), before);
  });

  it('reads files the commit does not name from the directory, and leaves out absent names', () => {
    const dir = interrupted(['config.json'], false);
    writeFileSync(join(dir, PENDING_DIR, COMMIT_MARKER), JSON.stringify(['config.json']));
    const files = readCommitted(dir, ['config.json', 'tokenizer.json', 'absent.json']);
    assert.deepEqual([...files.keys()].sort(), ['config.json', 'tokenizer.json']);
    assert.equal(JSON.parse(files.get('config.json')!.toString()).generation, 2);
    assert.equal(JSON.parse(files.get('tokenizer.json')!.toString()).generation, 1);
    writeFileSync(join(dir, PENDING_DIR, COMMIT_MARKER), '["weights.bin"]');
    assert.throws(() => readCommitted(dir, ['weights.bin']), {
      name: 'FormatError',
      message: `${join(dir, PENDING_DIR, COMMIT_MARKER)}: committed file "weights.bin" is in neither ${join(dir, PENDING_DIR)} nor ${dir}`,
    });
  });

  it('beside a live writer, every read is one complete generation and the writer keeps running', async () => {
    const dir = freshDir();
    const writer = spawn(process.execPath, [WRITER, dir, '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let errors = '';
    writer.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()));
    await new Promise<void>((ready) => writer.stdout.once('data', () => ready()));
    const seen: number[] = [];
    const until = performance.now() + 3000;
    while (performance.now() < until && writer.exitCode === null) {
      seen.push(generationOf(readCommitted(dir, GENERATION_FILES), dir));
      await new Promise((r) => setImmediate(r));
    }
    const running = writer.exitCode === null;
    writer.kill('SIGKILL');
    assert.ok(running, `the writer died beside the reader: ${errors}`);
    assert.ok(seen.every((g, i) => i === 0 || g >= seen[i - 1]!), `generations went back: ${seen.join(',')}`);
    assert.ok(new Set(seen).size > 2, `the writer committed too little while being read: ${seen.join(',')}`);
  });
});

describe('a full disk', () => {
  it('a commit that does not fit names the file, leaves no .pending and keeps the previous set', () => {
    const dir = freshDir();
    commitFiles(dir, generationFiles(1));
    withDiskFree(5_000_000, () => assert.throws(() => commitFiles(dir, generationFiles(2)), {
      name: 'WriteError',
      message: `${join(dir, 'optimizer.bin')}: no space left on device (ENOSPC); ${dir} keeps its previous files`,
    }));
    assert.deepEqual(sorted(dir), [...GENERATION_FILES].sort());
    assert.equal(readGeneration(dir), 1);
  });

  it('writeFileAtomic keeps the old file and leaves no temp file', () => {
    const dir = freshDir();
    mkdirSync(dir);
    const path = join(dir, 'progress.json');
    writeFileAtomic(path, 'old');
    withDiskFree(10, () => assert.throws(() => writeFileAtomic(path, 'x'.repeat(100)), {
      name: 'WriteError', message: `${path}: no space left on device (ENOSPC); ${path} is unchanged`,
    }));
    assert.deepEqual(sorted(dir), ['progress.json']);
    assert.equal(readFileSync(path, 'utf8'), 'old');
  });

  it('on a small file system (tmpfs): the same', (t) => {
    const mount = freshDir();
    mkdirSync(mount);
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', mount], { encoding: 'utf8' });
    if (mounted.status !== 0) {
      t.skip(`cannot mount a tmpfs here (${(mounted.stderr || String(mounted.error)).trim()}); the injected error above covers it`);
      return;
    }
    try {
      const dir = join(mount, 'model');
      commitFiles(dir, generationFiles(1)); // 6 MiB of 8: a second set does not fit beside it
      assert.throws(() => commitFiles(dir, generationFiles(2)), {
        name: 'WriteError',
        message: `${join(dir, 'model.safetensors')}: no space left on device (ENOSPC); ${dir} keeps its previous files`,
      });
      assert.deepEqual(sorted(dir), [...GENERATION_FILES].sort());
      assert.equal(readGeneration(dir), 1);
    } finally {
      spawnSync('umount', [mount]);
    }
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
      const readOnly = generationOf(readCommitted(dir, GENERATION_FILES), dir); // what a reader sees first
      recoverDir(dir);
      const found = readGeneration(dir);
      assert.equal(readOnly, found, `round ${round}: a reader saw another generation than recovery settled on`);
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
