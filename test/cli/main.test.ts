import { describe, expect, it } from 'vitest';
import { runCli } from '../../gateway/cli/main';
import { captureIo } from '../helpers/cli-io';

describe('clawdesk <command>: the dispatcher', () => {
  it("Object's own names are unknown commands, not a crash", async () => {
    for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
      const io = captureIo();
      expect(await runCli([name], io), name).toBe(2);
      expect(io.err).toContain(`clawdesk: unknown command "${name}"`);
    }
  });
});
