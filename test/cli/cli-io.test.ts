import { describe, expect, it } from 'vitest';
import { splitSubcommand, UsageError } from '../../gateway/cli/cli-io';

describe('splitSubcommand: the prologue of clawdesk <command> <sub>', () => {
  const usage = 'usage: clawdesk thing run|list\n';
  const capture = () => {
    const out: string[] = [];
    return { io: { stdout: (text: string) => void out.push(text) }, out };
  };

  it('no sub-command prints the usage and exits 2; --help, -h and help print it and exit 0', () => {
    const none = capture();
    expect(splitSubcommand([], none.io, usage, ['run', 'list'])).toEqual({ exitCode: 2 });
    expect(none.out).toEqual([usage]);
    for (const help of ['--help', '-h', 'help']) {
      const asked = capture();
      expect(splitSubcommand([help, 'run'], asked.io, usage, ['run', 'list'])).toEqual({ exitCode: 0 });
      expect(asked.out).toEqual([usage]);
    }
  });

  it('a known sub-command comes back with the rest of the arguments, untouched', () => {
    const { io, out } = capture();
    expect(splitSubcommand(['list', '--json', 'x'], io, usage, ['run', 'list'])).toEqual({
      sub: 'list',
      rest: ['--json', 'x'],
    });
    expect(out).toEqual([]);
  });

  it("an unknown name is a usage error naming it, Object's own names included", () => {
    for (const name of ['nope', 'constructor', 'toString', '__proto__']) {
      const { io } = capture();
      expect(() => splitSubcommand([name], io, usage, ['run', 'list'])).toThrow(UsageError);
      expect(() => splitSubcommand([name], io, usage, ['run', 'list'])).toThrow(`unknown subcommand "${name}"`);
    }
  });
});
