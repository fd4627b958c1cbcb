// Headless Chromium for the web app's end-to-end tests and `swat bench browser`, driven by playwright-core
// (a dev dependency): Debian's `chromium` at /usr/bin/chromium unless SWAT_CHROMIUM names another, started
// with a fresh profile and without the background services a test does not want. Node only.

import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';

export const CHROMIUM_FLAGS = [
  '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run',
];

export function chromiumPath(): string {
  return process.env['SWAT_CHROMIUM'] || '/usr/bin/chromium';
}

/** Why Chromium cannot be driven here (no browser, no playwright-core), or null when it can. */
export async function chromiumUnavailableReason(): Promise<string | null> {
  if (!existsSync(chromiumPath())) return `no Chromium at ${chromiumPath()} (apt-get install chromium, or set SWAT_CHROMIUM)`;
  try {
    await import('playwright-core');
  } catch {
    return 'playwright-core is not installed (a dev dependency: npm install)';
  }
  return null;
}

export interface Chromium {
  context: BrowserContext;
  /** Closes the browser and removes its profile. */
  close(): Promise<void>;
}

/** A headless Chromium with a fresh profile. */
export async function launchChromium(viewport = { width: 1400, height: 1000 }): Promise<Chromium> {
  const { chromium } = await import('playwright-core');
  const profile = mkdtempSync(join(tmpdir(), 'swat-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath(), headless: true, args: CHROMIUM_FLAGS, viewport, acceptDownloads: true,
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
