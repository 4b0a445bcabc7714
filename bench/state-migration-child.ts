// One `clawdesk state migrate` in its own process, for bench/state-migration.ts: wall time and peak RSS.
import path from 'node:path';
import { migrateState } from '../gateway/state/state-migration';

async function main(): Promise<void> {
  const [from, to] = process.argv.slice(2);
  const started = performance.now();
  const result = await migrateState({ from: from, to: to, home: path.dirname(from) });
  const ms = performance.now() - started;
  process.stdout.write(
    `${JSON.stringify({ outcome: result.outcome, strategy: result.plan.strategy, ms, maxRssKiB: process.resourceUsage().maxRSS })}\n`,
  );
}

main().catch((error) => {
  process.stdout.write(`${JSON.stringify({ error: String(error?.message ?? error) })}\n`);
  process.exitCode = 1;
});
