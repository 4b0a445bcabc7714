import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectGateway } from '../../gateway/client/gateway-client';
import { redactSecrets } from '../../gateway/server/core-module';
import { startTestGateway, type TestGateway } from '../helpers/gateway-fixture';

// Issue 9 finding 11: config.get redacted by key-name endings only, so these came back in clear to operator.read.
// Every case below fails on the code before the fix (gateway/server/core-module.ts redactSecrets, key endings only).

const R = '__OPENCLAW_REDACTED__';
const SK = 'sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789';
const GHP = 'ghp_0123456789abcdefghijABCDEFGHIJklmnop';
const PAT = 'github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz0123';
const SLACK = 'xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx';
const JWT =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c';
const PEM =
  '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n-----END OPENSSH PRIVATE KEY-----\n';
const AKIA = 'AKIAIOSFODNN7EXAMPLE';
const AWS_SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';

const leaks = (value: unknown, secrets: string[]) => {
  const text = JSON.stringify(value);
  return secrets.filter((s) => text.includes(s));
};

describe('issue 9 finding 11: config.get redacts by value as well as by key', () => {
  it('bearer tokens and provider keys under harmless-looking keys', () => {
    const out = redactSecrets({
      providers: {
        openai: { baseUrl: 'https://api.openai.com/v1', headers: { 'X-Custom': `Bearer ${SK}` } },
        notes: `use ${GHP} or ${PAT} for the mirror`,
        slack: { hook: SLACK },
        session: { sample: JWT },
      },
    }) as any;
    expect(leaks(out, [SK, GHP, PAT, SLACK, JWT])).toEqual([]);
    expect(out.providers.openai.headers['X-Custom']).toBe(`Bearer ${R}`);
    expect(out.providers.openai.baseUrl).toBe('https://api.openai.com/v1');
    expect(out.providers.notes).toBe(`use ${R} or ${R} for the mirror`);
  });

  it('Authorization, cookie, credentials and *_KEY keys are redacted whole', () => {
    const out = redactSecrets({
      headers: { Authorization: 'Bearer abc', Cookie: 'sid=1', 'Proxy-Authorization': 'Basic Zm9vOmJhcg==' },
      credentials: { user: 'me', pass: 'hunter2' },
      STRIPE_KEY: 'whatever',
      SIGNING_KEY: 'x1',
    }) as any;
    expect(out).toEqual({
      headers: { Authorization: R, Cookie: R, 'Proxy-Authorization': R },
      credentials: { user: R, pass: R },
      STRIPE_KEY: R,
      SIGNING_KEY: R,
    });
  });

  it('URLs with credentials keep everything but the password', () => {
    const out = redactSecrets({
      db: {
        DATABASE_URL: 'postgres://app:s3cr3t-pw@db.internal:5432/main',
        mirror: 'https://user:pa55@example.com/x?y=1',
      },
    }) as any;
    expect(out.db.DATABASE_URL).toBe(`postgres://app:${R}@db.internal:5432/main`);
    expect(out.db.mirror).toBe(`https://user:${R}@example.com/x?y=1`);
    const query = redactSecrets({ url: 'https://example.com/hook?token=abc123&mode=fast' }) as any;
    expect(query.url).toBe(`https://example.com/hook?token=${R}&mode=fast`);
  });

  it('PEM blocks and AWS keys', () => {
    const out = redactSecrets({ ssh: { identity: PEM }, aws: { id: AKIA, note: `key ${AKIA}` } }) as any;
    expect(leaks(out, [PEM.split('\n')[1], AKIA])).toEqual([]);
    expect(out.ssh.identity).toBe(`${R}\n`);
  });

  it('the values of env maps (AWS_SECRET_ACCESS_KEY and anything not obviously harmless)', () => {
    const out = redactSecrets({
      env: {
        AWS_SECRET_ACCESS_KEY: AWS_SECRET,
        SOME_SERVICE: 'opaque-value-42',
        NODE_ENV: 'production',
        DEBUG: 'false',
        PORT: '8080',
        FROM_ENV: '${OTHER}',
        vars: { GROQ: 'gsk_abcdefghijklmnop' },
        shellEnv: { enabled: true, timeoutMs: 15000 },
      },
      agents: { list: [{ id: 'main', environment: { TOKENISH: 'plain', LANG: 'en_US.UTF-8' } }] },
    }) as any;
    expect(out.env).toEqual({
      AWS_SECRET_ACCESS_KEY: R,
      SOME_SERVICE: R,
      NODE_ENV: 'production',
      DEBUG: 'false',
      PORT: '8080',
      FROM_ENV: '${OTHER}',
      vars: { GROQ: R },
      shellEnv: { enabled: true, timeoutMs: 15000 },
    });
    expect(out.agents.list[0].environment).toEqual({ TOKENISH: R, LANG: 'en_US.UTF-8' });
  });

  it('arrays under secret-looking keys', () => {
    const out = redactSecrets({
      gateway: { auth: { mode: 'token', tokens: ['t-one', 't-two'] } },
      apiKeys: [{ name: 'a', value: 'v' }],
    }) as any;
    expect(out.gateway.auth).toEqual({ mode: 'token', tokens: [R, R] });
    expect(out.apiKeys).toEqual([{ name: R, value: R }]);
  });

  it('keeps what OpenClaw reads from config.get (gateway mode, bind, port, auth mode, exec policy) and token counts', () => {
    const config = {
      gateway: { mode: 'local', bind: 'loopback', port: 18789, auth: { mode: 'token', token: 'x' } },
      tools: { exec: { security: 'allowlist', ask: 'on-miss', askFallback: 'deny' } },
      agents: {
        defaults: {
          workspace: '/home/u/.openclaw/workspace',
          contextTokens: 200000,
          maxTokens: 8192,
          model: 'anthropic/claude',
        },
      },
      ui: { theme: 'Basic settings', note: 'Bearer of good news' },
      device: { publicKey: 'MCowBQYDK2VwAyEA' },
    };
    expect(redactSecrets(config)).toEqual({
      ...config,
      gateway: { ...config.gateway, auth: { mode: 'token', token: R } },
    });
  });

  it('does not mutate its input, and "__proto__" keys stay plain data', () => {
    const input = JSON.parse('{"__proto__": {"token": "t"}, "a": {"password": "p"}}');
    const copy = structuredClone(input);
    const out = redactSecrets(input) as any;
    expect(input).toEqual(copy);
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(out, '__proto__')?.value).toEqual({ token: R });
    expect(out.a.password).toBe(R);
  });
});

describe('issue 9 finding 11: config.get over a live gateway', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(async () => {
    await gw.dispose();
  });

  it('an operator.read client sees no secret, and the hash is still the hash of the raw file', async () => {
    const raw = `// comments survive in the file
{
  gateway: { auth: { mode: "token", token: "gateway-secret-1" } },
  models: { providers: { openai: { headers: { Authorization: "Bearer ${SK}" } } } },
  env: { AWS_SECRET_ACCESS_KEY: "${AWS_SECRET}", DATABASE_URL: "postgres://u:db-pass-9@h/db" },
  hooks: { tokens: ["hook-token-a", "hook-token-b"] },
}
`;
    const file = path.join(gw.stateDir, 'openclaw.json');
    writeFileSync(file, raw);
    const s = await connectGateway({ url: gw.url, token: 'test-token', scopes: ['operator.read'] });
    try {
      const result = await s.request('config.get', {});
      expect(leaks(result, ['gateway-secret-1', SK, AWS_SECRET, 'db-pass-9', 'hook-token-a', 'hook-token-b'])).toEqual(
        [],
      );
      expect(result.hash).toBe(createHash('sha256').update(readFileSync(file, 'utf8')).digest('hex'));
      const config = result.config as {
        gateway: { auth: { mode: string } };
        models: { providers: { openai: { headers: { Authorization: string } } } };
        env: { DATABASE_URL: string };
      };
      expect(config.gateway.auth.mode).toBe('token');
      expect(config.models.providers.openai.headers.Authorization).toBe(R);
      expect(config.env.DATABASE_URL).toBe(R);
    } finally {
      await s.close();
    }
  });
});
