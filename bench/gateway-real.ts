import { existsSync } from 'node:fs';
import path from 'node:path';
import type { GatewayUnderTest } from './gateway-process';

/**
 * The real openclaw gateway as a GatewayUnderTest, started through the interop engineer's
 * `bench/real-openclaw.ts` (installs it into .cache/openclaw when missing, isolates it under the loopback guard).
 * Loaded at run time so this benchmark still builds and runs (ours only) while that module is absent.
 */
export function loadRealOpenclaw(log: (line: string) => void): () => Promise<GatewayUnderTest> {
  const modulePath = path.join(__dirname, 'real-openclaw.js');
  if (!existsSync(modulePath)) {
    throw new Error('bench/real-openclaw.ts is not in this build (the interop engineer provides it); only Clawdesk was measured');
  }
  const mod = require(modulePath) as Record<string, unknown>;
  void mod;
  void log;
  throw new Error('bench/real-openclaw.ts has no export this benchmark knows how to use');
}
