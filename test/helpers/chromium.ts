import { chromium, type Browser } from 'playwright-core';

/**
 * Debian's headless Chromium as every browser suite runs it: no sandbox (containers), no GPU, and nothing that
 * reaches the network on its own (updates, sync, QUIC), so a test only ever talks to what it started.
 */
export function launchHeadlessChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
