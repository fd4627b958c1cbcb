// The web app end to end in headless Chromium (Debian's chromium driven by playwright-core): a real
// `swat web` process serves the page; the page loads without console errors and cross-origin isolated,
// trains on the sample book with falling loss, pauses and resumes, generates with a window cache that
// stays the same size while the text grows, and the model it saves as a .zip scores in `swat score` as it
// scored on the page. A model `swat web --model DIR` serves, and one picked as a folder, load on the page;
// a folder that is not a model is one line on the page.
//
// Without a Chromium (or playwright-core) these tests say why and are skipped, unless
// SWAT_REQUIRE_BROWSER=1 (CI sets it) makes that a failure.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { unzipSync } from 'fflate';
import type { Page } from 'playwright-core';
import { type Chromium, chromiumUnavailableReason, launchChromium } from '../src/web/chromium.js';
import { type Launched, launch, ok, waitFor } from './support/cli.js';

const unavailable = await chromiumUnavailableReason();
const skip = unavailable !== null && process.env['SWAT_REQUIRE_BROWSER'] !== '1' ? `no browser tests: ${unavailable}` : false;
if (skip) process.stdout.write(`# ${skip}\n`);

const PROMPT = 'Alice was beginning to get very tired of sitting by her sister on the bank, and';
const tmp = mkdtempSync(join(tmpdir(), 'swat-web-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** `swat web` with `args`, once it prints its address. */
async function serve(...args: string[]): Promise<{ server: Launched; url: string }> {
  const server = launch('web', '--port', '0', ...args);
  await waitFor(() => /http:\/\/\S+\//.test(server.out()) || server.child.exitCode !== null, 'swat web to start', 30_000);
  const url = /http:\/\/\S+\//.exec(server.out())?.[0];
  assert.ok(url, `swat web did not start: ${server.err()}`);
  return { server, url };
}

async function stop(server: Launched): Promise<void> {
  server.child.kill('SIGTERM');
  assert.deepEqual(await server.exit, { code: 0, signal: null });
}

/** A page that records console errors and uncaught exceptions. */
async function open(browser: Chromium, url: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.context.newPage();
  const errors: string[] = [];
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url);
  return { page, errors };
}

/** The sum of log-probabilities the page shows after "Score the prompt". */
async function scoreOnPage(page: Page): Promise<number> {
  await page.click('#gen-score');
  await page.waitForSelector('#score-result[data-sum]');
  return Number(await page.getAttribute('#score-result', 'data-sum'));
}

function scoreInCli(dir: string, text: string): number {
  return (JSON.parse(ok('score', '-m', dir, '--text', text)) as { sum: number }).sum;
}

/** The page computes on the wasm backend, `swat score` here on the reference one: float32 rounding apart. */
function assertSameScore(page: number, cli: number): void {
  assert.ok(Math.abs(page - cli) <= 1e-4 * Math.abs(cli) + 1e-3, `page ${page}, swat score ${cli}`);
}

describe('the web app in headless Chromium', { skip }, () => {
  let browser: Chromium;
  before(async () => {
    browser = await launchChromium();
  });
  after(async () => browser?.close());

  it('trains with falling loss, pauses and resumes, generates in constant cache memory, and saves a model swat score agrees with', async () => {
    const { server, url } = await serve();
    const { page, errors } = await open(browser, url);
    try {
      assert.equal(await page.evaluate('crossOriginIsolated'), true);
      assert.match(await page.textContent('#env-isolation') ?? '', /^cross-origin isolated: \d+ threads$/);

      await page.click('#train-sample');
      await page.waitForFunction("document.querySelector('#train-text').value.length > 100000");
      await page.fill('#train-steps', '60');
      await page.fill('#train-eval', '10');
      await page.click('#train-start');

      await page.waitForFunction("Number(document.querySelector('#train-status').dataset.step ?? 0) >= 5");
      await page.click('#train-pause');
      await page.waitForSelector('#train-status:text("paused at step")');
      const pausedAt = Number(await page.getAttribute('#train-status', 'data-step'));
      await page.waitForTimeout(700);
      assert.equal(Number(await page.getAttribute('#train-status', 'data-step')), pausedAt, 'no step while paused');
      assert.equal(await page.textContent('#train-pause'), 'Resume');
      await page.click('#train-pause');
      await page.waitForSelector('#train-status[data-done="60"]', { timeout: 300_000 });

      const rows = (await page.evaluate("[...document.querySelectorAll('#loss-table tbody tr')].map((tr) => [...tr.cells].map((td) => td.textContent))")) as string[][];
      assert.equal(rows.length, 60, 'one row per step, across the pause');
      assert.deepEqual(rows.map((r) => Number(r[0])), Array.from({ length: 60 }, (_, i) => i + 1));
      const mean = (xs: string[][]) => xs.reduce((a, r) => a + Number(r[1]), 0) / xs.length;
      assert.ok(mean(rows.slice(-10)) < mean(rows.slice(0, 10)) - 1, `training loss falls: ${mean(rows.slice(0, 10))} → ${mean(rows.slice(-10))}`);
      const val = rows.filter((r) => r[2] !== '').map((r) => Number(r[2]));
      assert.equal(val.length, 6);
      assert.ok(val[5]! < val[0]!, `validation loss falls: ${val.join(', ')}`);

      await page.click('#use-trained');
      await page.waitForSelector('#model-status[data-loaded="trained here"]');
      assert.equal(await page.isVisible('#panel-generate'), true);
      await page.fill('#gen-prompt', PROMPT);
      await page.fill('#gen-tokens', '600');
      await page.click('#gen-start');
      const samples: [number, string][] = [];
      while ((await page.getAttribute('#gen-output', 'data-done')) === null) {
        const m = /^([\d,]+) tokens, .* window cache (.+)$/.exec((await page.textContent('#gen-status')) ?? '');
        if (m) samples.push([Number(m[1]!.replace(/,/g, '')), m[2]!]);
        await page.waitForTimeout(20);
      }
      const counts = new Set(samples.map((s) => s[0]));
      assert.ok(counts.size >= 3, `the status was seen at several lengths: ${JSON.stringify(samples)}`);
      assert.equal(new Set(samples.map((s) => s[1])).size, 1, `the cache keeps one size while the text grows: ${JSON.stringify(samples)}`);
      assert.equal(await page.getAttribute('#gen-output', 'data-done'), '600');
      assert.ok(((await page.textContent('#gen-output')) ?? '').length > PROMPT.length + 300);

      const onPage = await scoreOnPage(page);

      await page.click('#tab-train');
      const [download] = await Promise.all([page.waitForEvent('download'), page.click('#save-zip')]);
      assert.equal(download.suggestedFilename(), 'swat-model.zip');
      const zipped = unzipSync(readFileSync(await download.path()));
      for (const [name, bytes] of Object.entries(zipped)) {
        mkdirSync(join(tmp, name, '..'), { recursive: true });
        writeFileSync(join(tmp, name), bytes);
      }
      assert.deepEqual(Object.keys(zipped).sort(), [
        'swat-model/config.json', 'swat-model/generation_config.json', 'swat-model/model.safetensors', 'swat-model/special_tokens_map.json',
        'swat-model/tokenizer.json', 'swat-model/tokenizer_config.json',
      ]);
      assertSameScore(onPage, scoreInCli(join(tmp, 'swat-model'), PROMPT));
      assert.deepEqual(errors, []);
    } finally {
      await page.close();
      await stop(server);
    }
  });

  it('loads the model swat web --model serves, a model folder picked on the page, and says what is wrong with a folder that is not one', async () => {
    const dir = join(tmp, 'tiny');
    ok('init', '--out', dir, '--tokenizer', 'byte', '--layers', '1', '--dim', '32', '--heads', '2', '--window', '8', '--seed', '3');
    const { server, url } = await serve('--model', dir);
    const { page, errors } = await open(browser, url);
    try {
      await page.waitForSelector('#model-status[data-loaded="tiny"]');
      assert.equal(await page.isVisible('#panel-generate'), true, 'a served model opens the Generate tab');
      await page.fill('#gen-prompt', PROMPT);
      assertSameScore(await scoreOnPage(page), scoreInCli(dir, PROMPT));

      const other = join(tmp, 'picked');
      ok('init', '--out', other, '--tokenizer', 'byte', '--layers', '2', '--dim', '16', '--heads', '2', '--window', '4', '--seed', '4');
      await page.setInputFiles('#model-folder', other);
      await page.waitForSelector('#model-status[data-loaded="picked"]');
      assert.match(await page.textContent('#model-status') ?? '', /^picked: 2 layers, width 16, 2 heads, window 4/);
      assertSameScore(await scoreOnPage(page), scoreInCli(other, PROMPT));
      assert.deepEqual(errors, []);

      const notModel = join(tmp, 'notes');
      mkdirSync(notModel);
      writeFileSync(join(notModel, 'notes.txt'), 'not a model');
      await page.setInputFiles('#model-folder', notModel);
      await page.waitForSelector('#model-status.error');
      assert.equal(await page.textContent('#model-status'), 'notes/config.json not found: not a model directory');
    } finally {
      await page.close();
      await stop(server);
    }
  });
});
