import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { findNameProblems, nameRulesFor } from '../../../gateway/state/state-names';
import { E_KIND, PROFILE, freshDir } from './tier';

/**
 * What Windows itself (here: Wine under Windows Node) does with names a Linux state dir can hold, and that the
 * rules `state migrate` applies come from the volume, probed from Windows Node. Where Wine differs from Windows
 * (reserved device names, trailing dots, ':' are ordinary files under Wine) the README says so; a tree holding
 * such names, made on the Linux side, is migrated and scanned by names.linux.ts.
 */

const onE = 'E:\\clawdesk-tier-names';
const onC = path.join(PROFILE, 'clawdesk-tier-names');

after(() => {
  fs.rmSync(onE, { recursive: true, force: true });
  fs.rmSync(onC, { recursive: true, force: true });
});

void describe('file names under Windows Node', () => {
  void it('a name differing only by case is the same file: writing it overwrites the other (what a migration must never do)', () => {
    for (const dir of [freshDir(onC), ...(E_KIND === 'tmpfs' ? [freshDir(onE)] : [])]) {
      fs.writeFileSync(path.join(dir, 'Notes.md'), 'first');
      fs.writeFileSync(path.join(dir, 'notes.md'), 'second');
      assert.deepEqual(fs.readdirSync(dir), ['Notes.md'], dir);
      assert.equal(fs.readFileSync(path.join(dir, 'NOTES.MD'), 'utf8'), 'second');
    }
  });

  void it('characters Windows forbids cannot be used to create a file', () => {
    const dir = freshDir(onC);
    for (const name of ['what?', 'star*', 'pipe|x', 'lt<x', 'gt>x', 'ctl\u0001x'])
      assert.throws(() => fs.writeFileSync(path.join(dir, name), 'x'), `${JSON.stringify(name)} was created`);
    assert.deepEqual(fs.readdirSync(dir), []);
  });

  void it('the rules migrate applies are probed from the volume: C: and E: ignore case and follow Windows rules; the probe leaves nothing', async () => {
    for (const dir of [freshDir(onC), freshDir(onE)]) {
      const rules = await nameRulesFor(dir);
      assert.equal(rules.windows, true, dir);
      assert.equal(rules.caseInsensitive, true, dir);
      assert.match(rules.because, /Windows/);
      assert.deepEqual(fs.readdirSync(dir), [], `${dir}: the probe file was left behind`);
      // A target that does not exist yet: its nearest existing parent answers.
      assert.equal((await nameRulesFor(path.join(dir, 'not', 'yet'))).caseInsensitive, true);
    }
    const problems = findNameProblems(onE, ['aux.json', 'Sessions', 'sessions', 'trail.'], await nameRulesFor(onE));
    assert.deepEqual(
      problems.map((p) => [p.path, p.kind]),
      [
        [`${onE}\\aux.json`, 'reserved-name'],
        [`${onE}\\sessions`, 'case-collision'],
        [`${onE}\\trail.`, 'trailing-dot-or-space'],
      ],
    );
  });
});
