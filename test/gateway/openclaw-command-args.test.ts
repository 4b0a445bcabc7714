import { describe, expect, it } from 'vitest';
import { UsageError } from '../../gateway/cli/cli-io';
import { openclawCommand } from '../../gateway/cli/commands/openclaw-command';
import { captureIo } from '../helpers/cli-io';

describe('clawdesk openclaw: subcommand names', () => {
  it('an inherited name (constructor, toString, __proto__) is an unknown subcommand, not something run', async () => {
    for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf']) {
      const io = captureIo();
      const outcome = await openclawCommand([name], io).then(
        (code) => ({ code }),
        (error: unknown) => ({ error }),
      );
      expect(outcome, name).toHaveProperty('error');
      expect((outcome as { error: unknown }).error).toBeInstanceOf(UsageError);
      expect((outcome as { error: Error }).error.message).toContain(`unknown subcommand "${name}"`);
      expect(io.out + io.err).toBe('');
    }
  });

  it('install --version takes a plain version only: never a dist-tag, a URL or a path handed to npm', async () => {
    for (const version of ['latest', 'file:../evil', 'https://evil.example/openclaw.tgz', '^2026.9.6', '2026.9']) {
      const io = captureIo();
      const outcome = await openclawCommand(['install', '--version', version], io).then(
        (code) => ({ code }),
        (error: unknown) => ({ error }),
      );
      expect((outcome as { error: unknown }).error, version).toBeInstanceOf(UsageError);
      expect((outcome as { error: Error }).error.message).toContain('--version takes a plain version');
      expect(io.out + io.err).toBe('');
    }
  });
});
