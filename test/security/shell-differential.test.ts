import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeCommand } from '../../gateway/exec/command-analysis';
import { payloadArbitrary, type GeneratedPayload } from './helpers/payload-arbitraries';
import { makeShimWorld, type ShimWorld } from './helpers/shims';

/**
 * The differential check of issue 9: for generated shell payloads, the programs real `/bin/bash -c` starts (every
 * program it can start is a logging shim in a scratch dir) must be among the programs the analyser declared
 * whenever the analyser says the payload is fully analysable (`ok: true`). A program started that the analyser did
 * not declare is a bypass. Seed: printed; replay with CLAWDESK_DIFF_SEED=<seed> (CLAWDESK_DIFF_RUNS=<n> for more).
 */

const RUNS = Math.max(10_000, Number(process.env.CLAWDESK_DIFF_RUNS) || 0);
const SEED = process.env.CLAWDESK_DIFF_SEED
  ? Number(process.env.CLAWDESK_DIFF_SEED)
  : (Date.now() ^ (Math.random() * 0x7fffffff)) | 0;
const WORKERS = 3;

let worlds: ShimWorld[] = [];
beforeAll(() => {
  worlds = Array.from({ length: WORKERS }, () => makeShimWorld());
});
afterAll(() => {
  for (const w of worlds) w.cleanup();
});

interface Verdict {
  ok: boolean;
  reason?: string;
  declared: Set<string>;
}

function analyse(world: ShimWorld, payload: string): Verdict {
  const analysis = analyzeCommand(['/bin/bash', '-c', payload], {
    platform: 'linux',
    env: { PATH: world.bin, HOME: world.home },
    cwd: world.work,
    home: world.home,
  });
  const declared = new Set<string>();
  for (const p of analysis.programs) {
    if (p.realPath) declared.add(p.realPath);
  }
  return { ok: analysis.ok, reason: analysis.reason, declared };
}

interface Bypass {
  index: number;
  family: string;
  template: string;
  payload: string;
  undeclared: string[];
  declared: string[];
}

/** Runs the payload under bash when the analyser calls it analysable; returns the programs it started undeclared. */
async function differential(
  world: ShimWorld,
  template: string,
): Promise<{ verdict: Verdict; undeclared: string[] | null }> {
  const payload = world.expand(template);
  const verdict = analyse(world, payload);
  if (!verdict.ok) return { verdict, undeclared: null };
  const { started } = await world.run(payload);
  return { verdict, undeclared: [...new Set(started)].filter((p) => !verdict.declared.has(p)) };
}

describe('shell differential: the analyser against real bash', () => {
  it('the harness sees what bash starts: shims log, hidden programs show up', async () => {
    const w = worlds[0];
    expect((await w.run('ls -la | grep x && cat f')).started.sort()).toEqual([
      `${w.bin}/cat`,
      `${w.bin}/grep`,
      `${w.bin}/ls`,
    ]);
    // Programs the text does not name plainly are seen too: the check can catch a bypass.
    expect((await w.run(w.expand('{@O/evil,x}'))).started).toEqual([`${w.other}/evil`]);
    expect((await w.run(w.expand('printf -v PATH %s @O; ls'))).started).toEqual([`${w.other}/ls`]);
    expect((await w.run('X=id; $X')).started).toEqual([`${w.bin}/id`]);
    expect((await w.run('echo $(id)')).started).toEqual([`${w.bin}/id`]);
    expect((await w.run('enable -n echo; echo hi')).started).toEqual([`${w.bin}/echo`]);
    expect((await w.run('. ./script.sh')).started).toEqual([`${w.work}/evil`]);
  });

  it.each([
    'printf -v PATH %s @O; ls',
    '{@O/evil,x}',
    'X=@O/evil; $X',
    'hash -p @O/evil ls; ls',
    'shopt -s expand_aliases\nalias ls=@O/evil\nls',
    'enable -n echo; echo hi',
    'ls $(id)',
    'ls `id`',
    'PATH=@O ls',
    'export PATH=@O; ls',
    'read -r PATH <<< @O; ls',
    'ls() { id; }; ls',
    '. ./script.sh',
    'eval id',
    'exec @O/evil',
    'cd @O && ./evil',
    './e*',
    '~/evil',
    "$'\\x69d'",
    'ls #\n@O/evil',
    'l\\\ns',
    'trap id EXIT; ls',
  ])('known bypass stays closed: %j', async (template) => {
    const w = worlds[0];
    const { verdict, undeclared } = await differential(w, template);
    if (undeclared !== null)
      expect(undeclared, `analysable, but bash started undeclared programs: ${JSON.stringify(template)}`).toEqual([]);
    // Outside the safe subset, or fully declared: these forms are outside it.
    if (!['ls #\n@O/evil'].includes(template))
      expect(verdict.ok, `${JSON.stringify(template)} must need a decision`).toBe(false);
  });

  it('safe-subset payloads are analysable and declare what they run', async () => {
    for (const template of [
      'ls -la | grep x && echo ok',
      'ls \'a b\' "c d"; cat f || wc -l',
      'ls\ngrep a f',
      'id && whoami || date',
    ]) {
      const { verdict, undeclared } = await differential(worlds[0], template);
      expect(verdict.ok, `${JSON.stringify(template)}: ${verdict.reason}`).toBe(true);
      expect(undeclared).toEqual([]);
    }
  });

  it(`generated payloads (${RUNS}): every program bash starts was declared by the analyser`, async () => {
    console.log(`shell-differential: seed=${SEED} runs=${RUNS} (replay: CLAWDESK_DIFF_SEED=${SEED})`);
    const generated: GeneratedPayload[] = fc.sample(payloadArbitrary, { seed: SEED, numRuns: RUNS });
    expect(generated).toHaveLength(RUNS);
    const bypasses: Bypass[] = [];
    const stats = { safe: { n: 0, ok: 0 }, hostile: { n: 0, ok: 0 }, ran: 0 };
    let next = 0;
    const started = Date.now();
    await Promise.all(
      worlds.map(async (world) => {
        for (let i = next++; i < generated.length; i = next++) {
          const g = generated[i];
          const { verdict, undeclared } = await differential(world, g.payload);
          stats[g.family].n++;
          if (verdict.ok) stats[g.family].ok++;
          if (undeclared === null) continue;
          stats.ran++;
          if (undeclared.length) {
            bypasses.push({
              index: i,
              family: g.family,
              template: g.payload,
              payload: world.expand(g.payload),
              undeclared,
              declared: [...verdict.declared],
            });
          }
        }
      }),
    );
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    console.log(
      `shell-differential: ${RUNS} payloads in ${seconds}s; safe ${stats.safe.ok}/${stats.safe.n} analysable, hostile ${stats.hostile.ok}/${stats.hostile.n}; ${stats.ran} run under bash; ${bypasses.length} bypasses`,
    );
    const report = bypasses
      .slice(0, 10)
      .map(
        (b) =>
          `#${b.index} ${JSON.stringify(b.template)}\n   started undeclared: ${b.undeclared.join(', ')}\n   declared: ${b.declared.join(', ') || '(none)'}`,
      )
      .join('\n');
    expect(bypasses.length, `bypasses (seed ${SEED}, replay with CLAWDESK_DIFF_SEED=${SEED}):\n${report}`).toBe(0);
    // A stub that refuses everything cannot pass: most of the safe subset is analysable, and some payloads ran.
    expect(
      stats.safe.ok / Math.max(1, stats.safe.n),
      'share of safe-subset payloads the analyser reads',
    ).toBeGreaterThan(0.3);
    expect(stats.ran).toBeGreaterThan(RUNS * 0.1);
  }, 180_000);
});
