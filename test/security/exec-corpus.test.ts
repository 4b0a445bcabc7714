import { describe, expect, it } from 'vitest';
import { runCorpusCase } from './helpers/corpus-harness';
import { caseTitle, findings, type CorpusCase } from './helpers/corpus-types';
import { CORPUS, SCRIPTED, runScripted } from './corpus';
import { FAILED_BEFORE_REWRITE } from './corpus/failed-before-rewrite';

const marked = (title: string) => (FAILED_BEFORE_REWRITE.has(title) ? `${title} [failed before 62f1efe]` : title);

/**
 * The standing evasion corpus of issue 9: every case drives the public exec API (SystemRunner.prepare/run with a
 * real ExecApprovalsStore in a scratch dir, real files and real child processes; Windows cases through the
 * injectable platform and file probe) and asserts runs / needs-decision / refused. See helpers/corpus-harness.ts
 * for what each outcome checks, and corpus/*.ts for the cases.
 */

const all: CorpusCase[] = Object.values(CORPUS).flat();

describe('the corpus itself', () => {
  it('has at least 300 cases with unique names, and covers findings 1, 2, 6, 7, 8 and 9', () => {
    expect(all.length + SCRIPTED.length).toBeGreaterThanOrEqual(300);
    const titles = [...all.map(caseTitle), ...SCRIPTED.map((c) => c.name)];
    const dupes = titles.filter((t, i) => titles.indexOf(t) !== i);
    expect(dupes).toEqual([]);
    const covered = new Set([
      ...all.flatMap(findings),
      ...SCRIPTED.flatMap((c) => (c.finding === undefined ? [] : [c.finding].flat())),
    ]);
    for (const f of [1, 2, 6, 7, 8, 9]) expect(covered.has(f), `finding ${f}`).toBe(true);
    // Each of those findings has cases shown to fail on the code before the rewrite.
    const shown = [...FAILED_BEFORE_REWRITE].join('\n');
    for (const f of [1, 2, 6, 7, 8, 9])
      expect(shown, `finding ${f} shown failing before the rewrite`).toMatch(
        new RegExp(`^issue 9 finding (\\d+\\+)*${f}(\\+\\d+)*: `, 'm'),
      );
    // Enough positives that a policy refusing everything cannot pass.
    expect(all.filter((c) => c.expect === 'runs').length).toBeGreaterThanOrEqual(30);
    // Every evil-marker claim is made somewhere.
    expect(all.filter((c) => c.proves).length).toBeGreaterThanOrEqual(150);
  });
});

for (const [group, cases] of Object.entries(CORPUS)) {
  describe(`exec corpus: ${group}`, () => {
    for (const c of cases) {
      it(marked(caseTitle(c)), () => runCorpusCase(c), 60_000);
    }
  });
}

describe('exec corpus: scripted (decision, then a change, then the run)', () => {
  for (const c of SCRIPTED) {
    const f = c.finding === undefined ? [] : [c.finding].flat();
    const title = `${f.length ? `issue 9 finding ${f.join('+')}: ` : ''}${c.name} → ${c.expect}`;
    it(marked(title), () => runScripted(c), 60_000);
  }
});
