import { describe, expect, it } from 'vitest';
import { ControlUiError, type ControlUiLink } from '../../gateway/openclaw/control-ui';
import { setupControlUi } from '../../main/control-ui';

function harness(link: () => Promise<ControlUiLink>) {
  const opened: string[] = [];
  const boxes: Array<{ message: string; detail?: string }> = [];
  let links = 0;
  const opener = setupControlUi({
    link: () => {
      links++;
      return link();
    },
    shell: { openExternal: async (url: string) => void opened.push(url) },
    dialog: {
      showMessageBox: (async (options: { message: string; detail?: string }) => {
        boxes.push({ message: options.message, detail: options.detail });
        return { response: 0, checkboxChecked: false };
      }) as never,
    },
    log: () => undefined,
  });
  return { opener, opened, boxes, links: () => links };
}

describe('Open OpenClaw Control UI', () => {
  it('opens the one-time link in the browser; a double click asks OpenClaw once', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const h = harness(async () => {
      await gate;
      return { browserUrl: 'http://127.0.0.1:18789/#bootstrapToken=once', port: 18789 };
    });
    const first = h.opener.open();
    const second = h.opener.open();
    release();
    expect(await Promise.all([first, second])).toEqual([{ opened: true }, { opened: true }]);
    expect(h.links()).toBe(1);
    expect(h.opened).toEqual(['http://127.0.0.1:18789/#bootstrapToken=once']);
  });

  it('a failure says why and what to do: in the result, and from the tray in a message box', async () => {
    const h = harness(async () => {
      throw new ControlUiError('Clawdesk’s built-in gateway has no Control UI', 'Switch the gateway mode to OpenClaw.');
    });
    expect(await h.opener.open()).toEqual({
      opened: false,
      error: 'Clawdesk’s built-in gateway has no Control UI',
      fix: 'Switch the gateway mode to OpenClaw.',
    });
    expect(h.boxes).toEqual([]);
    await h.opener.open({ tellPerson: true });
    expect(h.boxes).toEqual([
      {
        message: 'OpenClaw’s Control UI did not open',
        detail: 'Clawdesk’s built-in gateway has no Control UI\n\nSwitch the gateway mode to OpenClaw.',
      },
    ]);
    expect(h.opened).toEqual([]);
  });
});
