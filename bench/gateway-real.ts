import { existsSync } from 'node:fs';
import path from 'node:path';
import type { GatewayUnderTest } from './gateway-process';

/** What bench/real-openclaw.ts (the interop engineer's) exports for this benchmark. */
interface RealOpenclawModule {
  /** Installs the cache when missing, spawns the real gateway isolated under the loopback guard, returns at once. */
  startRealOpenclaw(log?: (line: string) => void): Promise<GatewayUnderTest>;
}

/**
 * The real openclaw gateway as a GatewayUnderTest. Loaded at run time so that a build without
 * bench/real-openclaw.ts still measures Clawdesk and says why the real side is missing.
 */
export function loadRealOpenclaw(log: (line: string) => void): () => Promise<GatewayUnderTest> {
  const modulePath = path.join(__dirname, 'real-openclaw.js');
  if (!existsSync(modulePath)) {
    throw new Error('bench/real-openclaw.ts is not in this build, so only Clawdesk was measured');
  }
  const mod = require(modulePath) as Partial<RealOpenclawModule>;
  if (typeof mod.startRealOpenclaw !== 'function') {
    throw new Error('bench/real-openclaw.ts does not export startRealOpenclaw(log), which this benchmark calls');
  }
  return () => mod.startRealOpenclaw!(log);
}
