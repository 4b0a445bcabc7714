import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ControlUiError, controlUiLink } from '../../gateway/openclaw/control-ui';

/**
 * What Clawdesk accepts from `openclaw dashboard --json` before it opens anything: a stand-in openclaw.mjs prints
 * each answer (the real one is exercised in test/openclaw/supervised-gateway.test.ts).
 */
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clawdesk-control-ui-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function fakeOpenclaw(body: string): string {
  const entry = path.join(dir, `openclaw-${Math.random().toString(36).slice(2)}.mjs`);
  fs.writeFileSync(entry, body);
  return entry;
}
const answering = (answer: unknown, exit = 0) =>
  fakeOpenclaw(
    `console.log('[plugins] noise first');\nconsole.log(${JSON.stringify(JSON.stringify(answer))});\nprocess.exit(${exit});`,
  );
const link = (entry: string, expectPort?: number) =>
  controlUiLink({
    install: { entry, nodeBin: process.execPath },
    env: { PATH: process.env.PATH },
    expectPort,
    timeoutMs: 10_000,
  });
const failure = async (entry: string, expectPort?: number) => {
  const error = await link(entry, expectPort).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ControlUiError);
  return error as ControlUiError;
};

describe('the Control UI link', () => {
  it('takes browserUrl (the one-time bootstrap) and drops url (which carries the shared token)', async () => {
    const result = await link(
      answering({
        ok: true,
        url: 'http://127.0.0.1:18789/#token=SHARED',
        browserUrl: 'http://127.0.0.1:18789/#bootstrapToken=abc&bootstrapProfile=owner',
        browserBootstrapExpiresAtMs: 1_800_000_000_000,
      }),
      18789,
    );
    expect(result).toEqual({
      browserUrl: 'http://127.0.0.1:18789/#bootstrapToken=abc&bootstrapProfile=owner',
      expiresAtMs: 1_800_000_000_000,
      port: 18789,
    });
    expect(JSON.stringify(result)).not.toContain('SHARED');
  });

  it('refuses a link to another host, another port, or another scheme', async () => {
    for (const browserUrl of [
      'http://evil.example:18789/#bootstrapToken=x',
      'http://127.0.0.1.nip.io:18789/',
      'file:///etc/passwd',
      'javascript:alert(1)',
    ]) {
      const error = await failure(answering({ ok: true, browserUrl }), 18789);
      expect(error.message).toMatch(/not this machine’s gateway/);
    }
    expect((await failure(answering({ ok: true, browserUrl: 'http://127.0.0.1:9999/' }), 18789)).message).toContain(
      'port 18789',
    );
  });

  it('says why when OpenClaw issues none, answers garbage, or never answers', async () => {
    expect((await failure(answering({ ok: false, reason: 'gateway not ready' }, 1))).message).toContain(
      'gateway not ready',
    );
    expect((await failure(answering({ ok: true, url: 'http://127.0.0.1:1/#token=x' }))).message).toContain(
      'no browser link',
    );
    expect((await failure(fakeOpenclaw("console.error('boom'); process.exit(3)"))).message).toMatch(/exit 3: boom/);
    const hang = fakeOpenclaw('setInterval(() => {}, 1000);');
    const error = await controlUiLink({
      install: { entry: hang, nodeBin: process.execPath },
      env: { PATH: process.env.PATH },
      timeoutMs: 300,
    }).catch((e: unknown) => e as ControlUiError);
    expect(error).toBeInstanceOf(ControlUiError);
    expect((error as ControlUiError).message).toContain('in time');
    expect((error as ControlUiError).fix).toMatch(/Start OpenClaw/);
  });
});
