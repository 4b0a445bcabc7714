import { describe, expect, it } from 'vitest';
import { AppNotices, MAX_NOTICES } from '../../main/app-notices';

describe('AppNotices', () => {
  const make = () => {
    let changes = 0;
    let now = 1000;
    const notices = new AppNotices({ onChange: () => changes++, now: () => now++ });
    return { notices, changes: () => changes };
  };
  const notice = (id: string, error = `${id} happened`) => ({
    id,
    severity: 'warning' as const,
    message: { key: 'notice.historyWrite' as const, values: { error } },
    fix: { key: 'notice.historyWriteFix' as const },
  });

  it('a repeat of the same notice changes nothing; a new message for the same cause replaces it', () => {
    const { notices, changes } = make();
    notices.report(notice('settings:appearance'));
    notices.report(notice('settings:appearance'));
    expect(notices.list()).toHaveLength(1);
    expect(changes()).toBe(1);
    notices.report(notice('settings:appearance', 'again, differently'));
    expect(notices.list()).toEqual([
      expect.objectContaining({
        id: 'settings:appearance',
        message: 'Decisions are not being saved to the approval history (again, differently).',
      }),
    ]);
    expect(changes()).toBe(2);
  });

  it('clear removes one; clearing what is not there reports false and no change', () => {
    const { notices, changes } = make();
    notices.report(notice('a'));
    notices.report(notice('b'));
    expect(notices.clear('a')).toBe(true);
    expect(notices.clear('a')).toBe(false);
    expect(notices.list().map((n) => n.id)).toEqual(['b']);
    expect(changes()).toBe(3);
  });

  it(`holds ${MAX_NOTICES} at most, dropping the oldest`, () => {
    const { notices } = make();
    for (let i = 0; i < MAX_NOTICES + 5; i++) notices.report(notice(`n${i}`));
    const ids = notices.list().map((n) => n.id);
    expect(ids).toHaveLength(MAX_NOTICES);
    expect(ids[0]).toBe('n5');
    expect(ids.at(-1)).toBe(`n${MAX_NOTICES + 4}`);
  });

  it('prototype names are ordinary ids', () => {
    const { notices } = make();
    notices.report(notice('__proto__'));
    notices.report(notice('constructor'));
    expect(notices.list().map((n) => n.id)).toEqual(['__proto__', 'constructor']);
    expect(notices.clear('toString')).toBe(false);
  });
});
