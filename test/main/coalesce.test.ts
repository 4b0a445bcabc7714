import { describe, expect, it } from 'vitest';
import { coalesce } from '../../main/coalesce';

describe('coalesce', () => {
  it('runs once per turn however often it is asked for, and again when asked after it ran', () => {
    const turns: Array<() => void> = [];
    let runs = 0;
    const refresh = coalesce(
      () => runs++,
      (run) => turns.push(run),
    );
    refresh();
    refresh();
    refresh();
    expect(runs).toBe(0);
    expect(turns).toHaveLength(1);
    turns.shift()!();
    expect(runs).toBe(1);
    refresh();
    expect(turns).toHaveLength(1);
    turns.shift()!();
    expect(runs).toBe(2);
  });

  it('a request made while the work runs is run on the next turn, not lost', () => {
    const turns: Array<() => void> = [];
    let runs = 0;
    const refresh: () => void = coalesce(
      () => {
        runs++;
        if (runs === 1) refresh();
      },
      (run) => turns.push(run),
    );
    refresh();
    turns.shift()!();
    expect(turns).toHaveLength(1);
    turns.shift()!();
    expect(runs).toBe(2);
  });

  it('by default on a later turn of the real event loop', async () => {
    let runs = 0;
    const refresh = coalesce(() => runs++);
    refresh();
    refresh();
    expect(runs).toBe(0);
    await new Promise((resolve) => setImmediate(resolve));
    expect(runs).toBe(1);
  });
});
