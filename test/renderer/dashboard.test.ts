import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExecModules } from '../../gateway/approvals/exec-modules';
import { connectGateway, type GatewaySession } from '../../gateway/client/gateway-client';
import { loadClawdeskIdentity, type ClawdeskIdentity } from '../../gateway/identity/clawdesk-identity';
import { createEphemeralDeviceSigner } from '../../gateway/protocol/device-auth';
import { vaultExists } from '../../gateway/secrets/secret-store';
import { startGatewayServer, type RunningGateway } from '../../gateway/server/gateway-server';
import { ApprovalHistory } from '../../main/approval-history';
import { ApprovalQueue } from '../../main/approval-queue';
import { DashboardService, type PolicySources } from '../../main/dashboard-service';
import { KeyStorageConsent } from '../../main/key-storage-consent';
import { KeyStorageSettings } from '../../main/key-storage-settings';
import { INVOKE_METHODS, type AppEvent, type InvokeApi, type PolicyTriple } from '../../common/ipc-contract';
import { LogBuffer } from '../../main/log-buffer';
import { FakeDialog } from '../main/fakes';
import { LOCALES, PSEUDO_LOCALE } from '../../renderer/i18n';
import {
  axeViolations,
  emit,
  openAppPage,
  overflowing,
  REPO_ROOT,
  settled,
  showView,
  startRendererBench,
  type ProbedPage,
  type RendererBench,
} from './renderer-harness';
import { englishLeftovers, hardCoded, uiText } from './untranslated';
import { AppNotices, damagedSettings } from '../../main/app-notices';

const artifacts = path.join(REPO_ROOT, 'test-artifacts', 'renderer');
const TOKEN = 'renderer-test-token-0123456789';
const SECRET = 'sekrit-bearer-value-42';

let gateway: RunningGateway;
let operator: GatewaySession;
let requester: GatewaySession;
let bench: RendererBench;
let queue: ApprovalQueue;
let service: DashboardService;
let keyDialog: FakeDialog;
let keySettings: KeyStorageSettings;
let keyDataDir: string;
let history: ApprovalHistory;
let notices: AppNotices;
/** What the page told main about the theme (DashboardService.setTheme → main/appearance.ts). */
const themesToldToMain: string[] = [];
/** What the page told main about the language (DashboardService.setLanguage → main/main-language.ts). */
const languagesToldToMain: Array<string | null> = [];
const rejectedIpc: string[] = [];

/** `locale` is the OS language the page sees (navigator.languages), as Electron reports app.getLocale(). */
function openPage(hash = '', locale?: string): Promise<ProbedPage> {
  return openAppPage(bench, service, { hash, locale, rejected: rejectedIpc });
}

const VIEW_IDS = [
  'status',
  'activity',
  'approvals',
  'devices',
  'nodes',
  'policy',
  'state',
  'secrets',
  'logs',
  'support',
] as const;

beforeAll(async () => {
  bench = await startRendererBench();
  mkdirSync(artifacts, { recursive: true });

  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'clawdesk-renderer-'));
  const exec = createExecModules();
  gateway = await startGatewayServer({
    stateDir,
    port: 0,
    host: '127.0.0.1',
    auth: { mode: 'token', token: TOKEN },
    modules: exec.modules,
    authFailureDelayMs: 0,
    allowSilentLocalPairing: () => false,
  });
  operator = await connectGateway({
    url: gateway.url,
    token: TOKEN,
    scopes: ['operator.admin', 'operator.approvals', 'operator.pairing'],
    caps: ['exec-approvals'],
    displayName: 'Clawdesk',
  });
  // The agent is a paired device on its own device token: the dashboard's device-less session holds the shared token,
  // and the gateway never lets a request be decided with the requester's own credential (issue 9 finding 4).
  const agentDevice = createEphemeralDeviceSigner();
  await connectGateway({
    url: gateway.url,
    token: TOKEN,
    device: agentDevice,
    displayName: 'agent',
    scopes: ['operator.admin'],
  }).catch(() => undefined);
  const agentRequest = await operator.request('device.pair.list', {});
  await operator.request('device.pair.approve', { requestId: agentRequest.pending[0].requestId });
  const firstSession = await connectGateway({
    url: gateway.url,
    token: TOKEN,
    device: agentDevice,
    scopes: ['operator.admin'],
    displayName: 'agent',
  });
  const agentDeviceToken = firstSession.deviceToken;
  await firstSession.close();
  // Signed in with its own device token, not the shared one the device-less dashboard session holds.
  requester = await connectGateway({
    url: gateway.url,
    deviceToken: agentDeviceToken,
    device: agentDevice,
    scopes: ['operator.admin'],
    displayName: 'agent',
  });

  // A paired device (approved through the gateway) and a pending one.
  const paired = createEphemeralDeviceSigner();
  await connectGateway({
    url: gateway.url,
    token: TOKEN,
    device: paired,
    displayName: 'Build laptop',
    platform: 'linux',
    scopes: ['operator.read'],
  }).catch(() => undefined);
  const firstList = await operator.request('device.pair.list', {});
  await operator.request('device.pair.approve', { requestId: firstList.pending[0].requestId });
  await connectGateway({
    url: gateway.url,
    token: TOKEN,
    device: createEphemeralDeviceSigner(),
    displayName: 'Pixel \u202Egnp.exe',
    platform: 'android',
    scopes: ['operator.read', 'operator.approvals'],
  }).catch(() => undefined);

  history = new ApprovalHistory(path.join(stateDir, 'clawdesk', 'approval-history.jsonl'));
  const now = Date.now();
  await history.record({
    id: 'h1',
    command: 'git push origin main',
    cwd: '/home/dev/app',
    agentId: 'main',
    host: 'gateway',
    decision: 'allow-once',
    decidedBy: 'you',
    requestedAtMs: now - 60_000,
    resolvedAtMs: now - 59_000,
  });
  await history.record({
    id: 'h2',
    command: `curl -H "Authorization: Bearer ${SECRET}" https://api.example.com`,
    cwd: '/tmp',
    agentId: 'main',
    host: 'gateway',
    decision: 'deny',
    decidedBy: 'you',
    requestedAtMs: now - 30_000,
    resolvedAtMs: now - 29_000,
  });
  await history.record({
    id: 'h3',
    command: '=HYPERLINK("http://evil")',
    cwd: '/tmp',
    agentId: 'ops',
    host: 'node',
    gateway: 'homelab (wss://10.0.0.5:18789)',
    decision: 'expired',
    decidedBy: 'fallback (askFallback=deny)',
    requestedAtMs: now - 10_000,
    resolvedAtMs: now - 9_000,
  });

  // Bad input for every view, language and theme: 10,000 characters of BiDi controls, stacked combining marks
  // and one unbroken word (history keeps what the gateway decided, whatever its length).
  await history.record({
    id: 'h-hostile',
    command: `printf ${'e\u0301\u0302\u0303 \u202E\u2067'.repeat(700)}${'y'.repeat(10_000)}`.slice(0, 10_000),
    cwd: `/tmp/${'d'.repeat(300)}`,
    agentId: 'main',
    host: 'gateway',
    decision: 'allow-always',
    decidedBy: 'you',
    requestedAtMs: now - 5_000,
    resolvedAtMs: now - 4_000,
  });

  const logs = new LogBuffer();
  logs.add('app', 'info', 'Clawdesk started');
  logs.add('gateway', 'info', `gateway listening on ${gateway.url}`);
  logs.add('gateway', 'warn', 'client sent', { token: TOKEN });

  let policy: PolicySources = {
    hostFilePath: path.join(stateDir, 'exec-approvals.json'),
    hostFile: { security: 'full', ask: 'off' },
    config: { security: 'allowlist', ask: 'on-miss' },
  };
  queue = new ApprovalQueue({
    // The window presenter's stand-in: the prompt stays up until it is decided or aborted.
    presenter: {
      present: (_view, signal) => new Promise((resolve) => signal.addEventListener('abort', () => resolve('deny'))),
    },
    blocker: () => undefined,
    fallback: () => 'deny',
  });
  // Clawdesk's identity as on a Linux desktop with no keyring: no keytar, no safeStorage, so the key is in memory.
  keyDataDir = path.join(stateDir, 'clawdesk');
  keyDialog = new FakeDialog();
  keySettings = new KeyStorageSettings(path.join(stateDir, 'userdata', 'key-storage.json'));
  await keySettings.load();
  const loadIdentity = () =>
    loadClawdeskIdentity({
      dataDir: keyDataDir,
      keytar: null,
      whenUnavailable: 'ephemeral',
      allowPlaintextFallback: keySettings.plaintextKeyFileAccepted(keyDataDir),
    });
  let identity: ClawdeskIdentity = await loadIdentity();
  const keyStorage = new KeyStorageConsent({
    dialog: keyDialog.api,
    dataDir: keyDataDir,
    settings: keySettings,
    identity: () => ({
      persistence: identity.persistence,
      warning: identity.warning,
      deviceId: identity.signer.deviceId,
    }),
    vaultExists,
    reloadIdentity: async () => {
      identity = await loadIdentity();
    },
  });
  notices = new AppNotices({ onChange: () => undefined });
  service = new DashboardService({
    version: '0.1.0',
    platform: 'linux',
    notices,
    status: () => ({
      gateway: {
        state: 'running',
        port: gateway.port,
        url: gateway.url,
        owner: { kind: 'clawdesk', description: 'Clawdesk (this app)' },
      },
      secretsBackend: 'OS keychain',
      secretsBackendId: 'keytar',
    }),
    pendingPairingCount: () => 1,
    controlGateway: async () => undefined,
    startAtLogin: { get: () => false, set: () => undefined },
    appearance: { setTheme: async (choice) => void themesToldToMain.push(choice) },
    language: { setLanguage: async (locale) => void languagesToldToMain.push(locale) },
    gateway: () => operator,
    approvals: {
      pending: () => queue.pending(),
      current: () => queue.current(),
      decide: (id, d) => queue.decide(id, d),
    },
    history,
    logs,
    // As GatewayController gives it in the supervised mode; OpenClaw's output may carry a credential.
    gatewayLog: () => ({
      mode: 'openclaw-supervised',
      file: '/home/user/.openclaw/clawdesk/openclaw-gateway.log',
      text: '2026-12-01T10:00:00Z [gateway] ready\n[dashboard] http://127.0.0.1:18789/#token=GATEWAY-LOG-SECRET\n',
    }),
    policy: {
      read: async () => policy,
      write: async (triple: PolicyTriple) => {
        policy = { ...policy, hostFile: triple };
      },
    },
    state: {
      scan: async () => ({
        dirs: [
          { path: stateDir, source: 'env', exists: true, active: true, notes: [] },
          {
            path: path.join(os.homedir(), '.clawdbot'),
            source: 'legacy',
            exists: true,
            active: false,
            notes: ['legacy directory with data'],
          },
        ],
        findings: [
          {
            id: 'multiple-state-dirs',
            severity: 'warn',
            message: 'Two state directories hold pairing data.',
            fix: 'Migrate the legacy one.',
          },
        ],
      }),
      migrate: async (dryRun) => ({
        dryRun,
        applied: !dryRun,
        steps: [
          {
            action: 'copy',
            from: '~/.clawdbot/devices',
            to: `${stateDir}/devices`,
            detail: 'devices/paired.json (2 devices)',
          },
        ],
      }),
    },
    secrets: () => keyStorage.view(),
    acceptPlaintextKeyStorage: () => keyStorage.acceptPlaintextKeyFile(),
    openExternal: async () => false,
  });
}, 120_000);

afterAll(async () => {
  await bench?.close();
  await operator?.close();
  await requester?.close();
  await gateway?.close();
});

describe('dashboard in headless Chromium, backed by a real gateway', () => {
  it('every view renders in both themes, is screenshotted, and has no serious accessibility violations', async () => {
    const page = await openPage();
    for (const scheme of ['light', 'dark'] as const) {
      // The OS setting, as Electron's nativeTheme reports it to the page.
      await page.emulateMedia({ colorScheme: scheme });
      for (const id of VIEW_IDS) {
        await showView(page, id);
        await page.screenshot({ path: path.join(artifacts, `${id}-${scheme}.png`), fullPage: true });
        expect(await axeViolations(page), `${id} (${scheme})`).toEqual([]);
        expect(await overflowing(page), `${id} (${scheme})`).toEqual([]);
      }
    }
    expect(page.errors).toEqual([]);
    await page.close();
    // Twenty views, each screenshotted and checked with axe: generous for a loaded machine.
  }, 180_000);

  it('status shows who owns the gateway', async () => {
    const page = await openPage('#status');
    await page.waitForSelector('#content[data-view="status"]');
    expect(await page.textContent('[data-testid="gateway-owner"]')).toBe('Clawdesk (this app)');
    expect(await page.textContent('[data-testid="gateway-state"]')).toBe('running');
    await page.close();
  });

  it('logs: OpenClaw’s gateway output beside the app’s, its log file named, credentials hidden', async () => {
    const page = await openPage('#logs');
    await page.waitForSelector('[data-testid="gateway-log"]');
    const text = await page.textContent('[data-testid="gateway-log"]');
    expect(text).toContain('[gateway] ready');
    expect(text).not.toContain('GATEWAY-LOG-SECRET');
    expect(await page.textContent('#content')).toContain('/home/user/.openclaw/clawdesk/openclaw-gateway.log');
    await page.close();
  });

  it('devices: the pending request (escaped name) is approved through the real gateway', async () => {
    const page = await openPage('#devices');
    await page.waitForSelector('#content[data-view="devices"]');
    const text = await page.textContent('#content');
    expect(text).toContain('Pixel ⟨RLO⟩gnp.exe');
    expect(text).toContain('Build laptop');
    expect(text).not.toContain('\u202E');
    await page.click('button[aria-label="Approve Pixel ⟨RLO⟩gnp.exe"]');
    await page.waitForFunction(() => document.querySelector('#status-line')?.textContent === 'Approve: done.');
    const list = await operator.request('device.pair.list', {});
    expect(list.pending).toEqual([]);
    expect(list.paired.map((d) => d.displayName)).toContain('Pixel \u202Egnp.exe');
    // Rotating a token must not put the token in the page.
    await page.click('button[aria-label="Rotate operator token of Build laptop"]');
    await page.waitForFunction(() => document.querySelector('#status-line')?.textContent === 'Rotate token: done.');
    const html = await page.content();
    expect(html).not.toMatch(/"token"|deviceToken/);
    await page.close();
  });

  it('approvals: a real pending request is denied from the dashboard and the requester gets the decision', async () => {
    const decision = requester.request(
      'exec.approval.request',
      {
        command: `curl -H "Authorization: Bearer ${SECRET}" https://ex\u0430mple.com`,
        cwd: '/tmp',
        host: 'gateway',
        security: 'allowlist',
        ask: 'on-miss',
        agentId: 'main',
        timeoutMs: 60_000,
        twoPhase: true,
      },
      { expectFinal: true, timeoutMs: 30_000 },
    );
    const page = await openPage('#approvals');
    await page.waitForSelector('#content[data-view="approvals"] .card');
    const card = await page.textContent('.card');
    expect(card).not.toContain(SECRET);
    expect(card).toContain('‹redacted›');
    expect(card).toContain('looks like "a"');
    await page.screenshot({ path: path.join(artifacts, 'approvals-pending.png'), fullPage: true });
    expect(await axeViolations(page)).toEqual([]);
    await page.click('.card button:has-text("Deny")');
    expect((await decision).decision).toBe('deny');
    await page.close();
  });

  it('approvals history: searchable, and exported as JSON and CSV without secrets', async () => {
    const page = await openPage('#approvals');
    await page.waitForSelector('#history-results table');
    await page.fill('#history-search', 'git push');
    await page.waitForFunction(() => document.querySelectorAll('#history-results tbody tr').length === 1);
    expect(await page.textContent('#history-results tbody')).toContain('git push origin main');
    // A request from a gateway on another machine is found by that gateway's name.
    await page.fill('#history-search', 'homelab');
    await page.waitForFunction(() => document.querySelectorAll('#history-results tbody tr').length === 1);
    expect(await page.textContent('#history-results tbody')).toContain('HYPERLINK');
    await page.fill('#history-search', '');
    await page.selectOption('#history-decision', 'deny');
    await page.waitForFunction(() => document.querySelectorAll('#history-results tbody tr').length === 1);
    expect(await page.textContent('#history-results tbody')).toContain('‹redacted›');

    const [csvDownload] = await Promise.all([
      page.waitForEvent('download'),
      page.click('button:has-text("Export CSV")'),
    ]);
    const csv = readFileSync(await csvDownload.path(), 'utf8');
    expect(csvDownload.suggestedFilename()).toMatch(/^clawdesk-approvals-.*\.csv$/);
    expect(csv.split('\r\n')[0]).toBe(
      'requestedAtMs,resolvedAtMs,id,decision,decidedBy,command,cwd,agentId,host,nodeId,gateway',
    );
    expect(csv).toContain(`"'=HYPERLINK(""http://evil"")"`);
    expect(csv).toMatch(/,homelab \(wss:\/\/10\.0\.0\.5:18789\)\r\n/);
    expect(csv).not.toContain(SECRET);
    const [jsonDownload] = await Promise.all([
      page.waitForEvent('download'),
      page.click('button:has-text("Export JSON")'),
    ]);
    const json = JSON.parse(readFileSync(await jsonDownload.path(), 'utf8'));
    expect(json.map((e: { id: string }) => e.id)).toEqual(expect.arrayContaining(['h1', 'h2', 'h3']));
    expect(JSON.stringify(json)).not.toContain(SECRET);
    await page.close();
  });

  it('exec policy: the stricter side wins; a preset rewrites the host file', async () => {
    const page = await openPage('#policy');
    await page.waitForSelector('#content[data-view="policy"] table');
    const rows = await page.$$eval('#content tbody tr', (trs) =>
      trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)),
    );
    expect(rows[0]).toEqual(['Security', 'allowlist', 'full', 'allowlist', 'config']);
    expect(rows[1]).toEqual(['Ask', 'on-miss', 'off', 'on-miss', 'config']);
    await page.click('button:has-text("Ask every time")');
    await page.waitForFunction(() => document.querySelector('#status-line')?.textContent?.endsWith('done.'));
    const after = await page.$$eval('#content tbody tr', (trs) =>
      trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)),
    );
    expect(after[1]).toEqual(['Ask', 'on-miss', 'always', 'always', 'host-file']);
    await page.close();
  });

  it('state: scan, doctor findings and a dry-run migration preview', async () => {
    const page = await openPage('#state');
    await page.waitForSelector('#content[data-view="state"] table');
    expect(await page.textContent('#content')).toContain('Two state directories hold pairing data.');
    await page.click('button:has-text("Preview migration")');
    await page.waitForSelector('#migration ol');
    expect(await page.textContent('#migration')).toContain('dry run, nothing changed');
    await page.screenshot({ path: path.join(artifacts, 'state-migration-preview.png'), fullPage: true });
    await page.close();
  });

  it('support bundle: downloaded, with logs and pairing state but no token', async () => {
    const page = await openPage('#support');
    await page.waitForSelector('#content[data-view="support"] button');
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.click('button:has-text("Export support bundle")'),
    ]);
    const text = readFileSync(await download.path(), 'utf8');
    const bundle = JSON.parse(text);
    expect(bundle.logs.length).toBeGreaterThan(0);
    expect(bundle.pairing.paired.length).toBeGreaterThan(0);
    expect(bundle.effectivePolicy.effective).toBeDefined();
    expect(text).not.toContain(TOKEN);
    expect(text).not.toMatch(/"(token|deviceToken|publicKey)"/);
    await page.close();
  });

  it('secrets: the in-memory key is explained, and the key file is offered through the native dialog', async () => {
    const page = await openPage('#secrets');
    await page.waitForSelector('[data-testid="key-ephemeral"]');
    expect(await page.textContent('[data-testid="secrets-backend"]')).toBe('in memory only');
    const notice = await page.textContent('[data-testid="key-ephemeral"]');
    expect(notice).toContain('held only in memory');
    expect(notice).toContain('a new device');
    expect(notice).toMatch(/unlock or install a keychain/i);
    const button = page.locator('#accept-key-file');
    expect(await button.textContent()).toBe('Keep the key in a file readable only by me');
    await page.screenshot({ path: path.join(artifacts, 'secrets-ephemeral.png'), fullPage: true });
    expect(await axeViolations(page)).toEqual([]);

    // The button calls the IPC method, which asks natively; No changes nothing.
    await button.click();
    (await keyDialog.box(0)).answer(0);
    await page.waitForFunction(() => document.querySelector('#status-line')?.textContent?.includes('not changed'));
    expect(keySettings.plaintextKeyFileAccepted(keyDataDir)).toBe(false);
    await page.waitForSelector('#accept-key-file');

    // Yes: remembered, the identity is reloaded into the key file, and the view says so.
    await page.click('#accept-key-file');
    (await keyDialog.box(1)).answer(1);
    await page.waitForFunction(() => document.querySelector('#status-line')?.textContent?.includes('accepted'));
    await page.waitForFunction(
      () => document.querySelector('[data-testid="secrets-backend"]')?.textContent === 'file (0600, accepted by you)',
    );
    expect(keySettings.plaintextKeyFileAccepted(keyDataDir)).toBe(true);
    expect(await page.$('[data-testid="key-ephemeral"]')).toBeNull();
    expect(await page.$('#accept-key-file')).toBeNull();
    await page.screenshot({ path: path.join(artifacts, 'secrets-key-file.png'), fullPage: true });
    expect(await axeViolations(page)).toEqual([]);
    expect((page as unknown as { errors: string[] }).errors).toEqual([]);
    await page.close();
  });

  it('secrets in German: the backend’s name is the dashboard’s German word, not main’s English (Status and Secrets)', async () => {
    const page = await openPage('#secrets', 'de-DE');
    await page.waitForFunction(() => document.documentElement.lang === 'de');
    await page.waitForSelector('#content[data-view="secrets"] [data-testid="secrets-backend"]');
    const backend = page.locator('[data-testid="secrets-backend"]');
    const expected =
      (await service.getSecrets()).backendId === 'plaintext-file'
        ? 'Datei (0600, von dir akzeptiert)'
        : 'nur im Arbeitsspeicher';
    expect(await backend.textContent()).toBe(expected);
    // A word of the page's own language, not text marked as main's English.
    expect(await backend.locator('[lang]').count()).toBe(0);
    await showView(page, 'status');
    await page.waitForSelector('#content[data-view="status"] [data-testid="status-secrets-backend"]');
    // This stand-in's status names the keychain (main/dashboard-ipc.ts sends the same id as the Secrets view).
    expect(await page.textContent('[data-testid="status-secrets-backend"]')).toBe('Schlüsselbund des Betriebssystems');
    expect(await axeViolations(page)).toEqual([]);
    expect(page.errors).toEqual([]);
    await page.close();
  });

  it('live updates: an app event re-renders the view', async () => {
    const page = await openPage('#status');
    await page.waitForSelector('#content[data-view="status"]');
    await page.evaluate(() => document.querySelector('#content')!.replaceChildren());
    await page.evaluate((event: AppEvent) => (window as any).__clawdeskEmit(event), {
      type: 'changed',
      topics: ['status'],
    } as AppEvent);
    await page.waitForSelector('[data-testid="gateway-state"]');
    await page.close();
  });

  it('the overview leads with what needs the person: a waiting approval is a card whose Deny reaches the requester', async () => {
    const decision = requester.request(
      'exec.approval.request',
      {
        command: 'rm -rf /home/dev/app/build',
        cwd: '/home/dev/app',
        host: 'gateway',
        security: 'allowlist',
        ask: 'on-miss',
        agentId: 'main',
        timeoutMs: 60_000,
        twoPhase: true,
      },
      { expectFinal: true, timeoutMs: 30_000 },
    );
    const page = await openPage('#status');
    await page.waitForSelector('#content[data-view="status"] .approval-card');
    const headings = await page.$$eval('#content h3', (hs) => hs.map((x) => x.textContent));
    expect(headings).toEqual(['Needs you', 'Health', 'Recent activity']);
    expect(await page.textContent('.approval-card pre.command')).toBe('rm -rf /home/dev/app/build');
    expect(await page.textContent('[data-testid="nodes-health"]')).toMatch(/^\d+ of \d+ nodes? connected$/);
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      await page.screenshot({ path: path.join(artifacts, `status-needs-you-${scheme}.png`), fullPage: true });
      expect(await axeViolations(page), scheme).toEqual([]);
    }
    await page.click('.approval-card button:has-text("Deny")');
    expect((await decision).decision).toBe('deny');
    await page.waitForFunction(() => !document.querySelector('.approval-card'));
    await page.close();
  });

  it('a problem main found is a card under "Needs you" with what to do; Dismiss removes it in main too', async () => {
    notices.report(damagedSettings('appearance', '/home/u/.config/Clawdesk/appearance.json.corrupt-1'));
    const page = await openPage('#status');
    await page.waitForSelector('#content[data-view="status"] [data-testid="notice"]');
    expect(await page.textContent('[data-testid="notice"] .card-kicker')).toBe('Needs fixing');
    expect(await page.textContent('[data-testid="notice"] .card-title')).toBe(
      "Clawdesk's appearance settings were damaged and moved to /home/u/.config/Clawdesk/appearance.json.corrupt-1.",
    );
    expect(await page.getAttribute('[data-testid="notice"] .card-title bdi', 'lang')).toBe('en');
    expect(await page.textContent('[data-testid="notice"] .meta')).toBe(
      'The theme follows the OS until you choose one again.',
    );
    expect(await axeViolations(page)).toEqual([]);
    await page.click('[data-testid="notice"] button:has-text("Dismiss")');
    await page.waitForFunction(() => !document.querySelector('[data-testid="notice"]'));
    expect(notices.list()).toEqual([]);
    await page.close();
  });

  it('activity: each chart says what it shows and has its numbers as a table', async () => {
    const page = await openPage('#activity');
    await page.waitForSelector('#chart-24h svg');
    const dayAgo = Date.now() - 24 * 3_600_000;
    const recent = (await service.queryApprovalHistory({ limit: 10_000 })).filter((e) => e.resolvedAtMs >= dayAgo);
    for (const id of ['chart-24h', 'chart-7d']) {
      const label = await page.$eval(`#${id} svg`, (svg) =>
        (svg.getAttribute('aria-labelledby') ?? '')
          .split(' ')
          .map((ref) => document.getElementById(ref)?.textContent)
          .join(' | '),
      );
      expect(label).toMatch(/^Approvals, last (24 hours|7 days) \| \d+ approvals in the last/);
      const totals = await page.$$eval(`#${id} tbody tr`, (rows) =>
        rows.map((row) => Number(row.lastElementChild?.textContent)),
      );
      expect(totals).toHaveLength(id === 'chart-24h' ? 24 : 7);
      if (id === 'chart-24h') {
        expect(totals.reduce((a, b) => a + b, 0)).toBe(recent.length);
        expect(label).toContain(`${recent.length} approvals in the last 24 hours`);
      }
    }
    // Keyboard: the numbers open with Enter on their summary.
    await page.focus('#chart-24h summary');
    await page.keyboard.press('Enter');
    expect(await page.$eval('#chart-24h details', (d) => (d as HTMLDetailsElement).open)).toBe(true);
    expect(await page.$$eval('#chart-programs tbody th', (ths) => ths.map((th) => th.textContent))).toContain('git');
    await page.close();
  });

  it('the theme follows the OS unless chosen by hand; the choice is remembered', async () => {
    const page = await openPage('#status');
    await page.waitForSelector('#content[data-view="status"]');
    const background = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    await page.emulateMedia({ colorScheme: 'light' });
    const light = await background();
    await page.emulateMedia({ colorScheme: 'dark' });
    const dark = await background();
    expect(dark).not.toBe(light);
    // Keyboard only: the language then the theme switch are the first stops, and a choice applies at once.
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('locale-choice');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('theme-choice');
    themesToldToMain.length = 0;
    await page.selectOption('#theme-choice', 'light');
    expect(await background()).toBe(light);
    // Main hears it too, so message boxes and title bars follow the same choice.
    await expect.poll(() => themesToldToMain).toContain('light');
    expect(await page.getAttribute('html', 'data-theme')).toBe('light');
    await page.reload();
    await page.waitForSelector('#content[data-view="status"]');
    expect(await background()).toBe(light);
    expect(await page.inputValue('#theme-choice')).toBe('light');
    await page.selectOption('#theme-choice', 'system');
    expect(await background()).toBe(dark);
    expect(await page.getAttribute('html', 'data-theme')).toBeNull();
    // Tab goes on into the navigation; Enter opens a view.
    await page.focus('#theme-choice');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('tab-status');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#content[data-view="activity"]');
    await page.close();
  });

  it('a language chosen by hand reaches main (the tray and native dialogs follow it), and so does going back to the OS’s', async () => {
    const page = await openPage('#status');
    await page.waitForSelector('#content[data-view="status"]');
    // Each page start tells main what the page uses, so a choice made before main remembered it still reaches it.
    await expect.poll(() => languagesToldToMain).toContain(null);
    languagesToldToMain.length = 0;
    await page.selectOption('#locale-choice', 'de');
    await page.waitForFunction(() => document.documentElement.lang === 'de');
    await expect.poll(() => languagesToldToMain).toContain('de');
    expect(languagesToldToMain.every((l) => l === 'de')).toBe(true);
    languagesToldToMain.length = 0;
    await page.waitForSelector('#content[data-view="status"]');
    await page.selectOption('#locale-choice', '');
    await page.waitForFunction(() => document.documentElement.lang === 'en');
    await expect.poll(() => languagesToldToMain).toContain(null);
    expect(languagesToldToMain).not.toContain('de');
    await page.close();
  });

  describe('every language, the pseudo-locale and right-to-left', () => {
    // The OS locale each shipped language is picked from (navigator.languages, as Electron sets it).
    const osLocale: Record<string, string> = {
      en: 'en-US',
      de: 'de-DE',
      fr: 'fr-FR',
      es: 'es-ES',
      'pt-BR': 'pt-BR',
      ja: 'ja-JP',
      'zh-CN': 'zh-CN',
      ko: 'ko-KR',
      ru: 'ru-RU',
      ar: 'ar-EG',
    };
    /** The views whose every word comes from the catalogue (main's own text is marked, and left out). */
    const CHECKED = ['devices', 'nodes', 'policy', 'state', 'secrets', 'logs', 'support'] as const;
    const now = Date.now();
    /**
     * The branches the shared gateway does not reach, answered by main's stand-in: empty lists, nodes, a revoked
     * token, an unset policy, and each of the three reasons the device key is only in memory.
     */
    const STATES: Array<{ id: string; views: ReadonlyArray<(typeof CHECKED)[number]>; answers: Partial<InvokeApi> }> = [
      {
        id: 'empty',
        views: ['devices', 'nodes', 'policy', 'state', 'secrets', 'logs'],
        answers: {
          listDevices: async () => ({ pending: [], paired: [] }),
          listNodes: async () => [],
          getExecPolicy: async () => ({
            ...(await service.getExecPolicy()),
            config: null,
            hostFile: null,
            hostFilePath: undefined,
            decidedBy: { security: 'built-in default', ask: 'built-in default', askFallback: 'built-in default' },
          }),
          getState: async () => ({ dirs: [], findings: [] }),
          getSecrets: async () => ({
            backend: 'OS keychain',
            backendId: 'keytar',
            available: false,
            detail: 'the keychain is locked',
            ephemeral: { keyFileOffered: false, keyFileAccepted: false },
          }),
          getLogs: async () => [],
          getGatewayLog: async () => ({ mode: 'openclaw-supervised', text: '' }),
        },
      },
      {
        id: 'filled',
        views: ['devices', 'nodes', 'policy', 'secrets'],
        answers: {
          listDevices: async () => ({
            pending: [
              { requestId: 'r1', deviceId: 'd1', displayName: 'Tablet', isRepair: true, scopes: [], ts: now - 1_000 },
            ],
            paired: [
              {
                deviceId: 'd2'.padEnd(64, '0'),
                tokens: [
                  { role: 'operator', scopes: [], createdAtMs: now - 9_000, revokedAtMs: now - 5_000 },
                  { role: 'node', scopes: ['node.invoke'], createdAtMs: now - 9_000 },
                ],
                approvedAtMs: now - 8_000,
              },
            ],
          }),
          listNodes: async () => [
            {
              nodeId: 'n1',
              displayName: 'Build box',
              platform: 'linux',
              version: '2026.10.1',
              remoteIp: '10.0.0.7',
              connected: true,
              paired: true,
              commands: ['system.run', 'system.which'],
            },
            { nodeId: 'n2', connected: false, paired: false },
          ],
          getExecPolicy: async () => ({
            ...(await service.getExecPolicy()),
            decidedBy: { security: 'both', ask: 'host-file', askFallback: 'config' },
          }),
          getSecrets: async () => ({
            backend: 'in memory only',
            backendId: 'ephemeral',
            available: true,
            detail: 'no keychain answered',
            ephemeral: { keyFileOffered: true, keyFileAccepted: false },
          }),
        },
      },
      {
        id: 'key-file-failed',
        views: ['secrets'],
        answers: {
          getSecrets: async () => ({
            backend: 'in memory only',
            backendId: 'ephemeral',
            available: false,
            detail: 'the key file could not be read',
            ephemeral: { keyFileOffered: false, keyFileAccepted: true },
          }),
        },
      },
    ];
    /** Main as the page sees it, with some answers replaced. */
    const answering = (answers: Partial<InvokeApi>): InvokeApi =>
      Object.fromEntries(
        INVOKE_METHODS.map((m) => [m, answers[m] ?? ((...args: unknown[]) => (service[m] as any)(...args))]),
      ) as unknown as InvokeApi;

    async function openIn(locale: (typeof LOCALES)[number], api: InvokeApi = service): Promise<ProbedPage> {
      const page = await openAppPage(bench, api, {
        hash: '#status',
        locale: osLocale[locale.id] ?? 'en-US',
        rejected: rejectedIpc,
      });
      if (locale.id === PSEUDO_LOCALE) {
        // Not an OS language: chosen by hand, as the language switch does.
        await page.selectOption('#locale-choice', PSEUDO_LOCALE);
        await page.waitForFunction((id) => document.documentElement.lang === id, PSEUDO_LOCALE);
      }
      await page.waitForSelector('#content[data-view="status"]');
      return page;
    }

    /** Every checked view, in the shared gateway's state and in each stand-in state: `check` gets its UI text. */
    async function eachCheckedView(
      locale: (typeof LOCALES)[number],
      page: ProbedPage,
      check: (where: string, page: ProbedPage, text: string[]) => Promise<void>,
    ): Promise<void> {
      for (const id of CHECKED) {
        await showView(page, id);
        await check(id, page, await uiText(page));
      }
      for (const state of STATES) {
        const other = await openIn(locale, answering(state.answers));
        // The page opens on the overview, and each view follows a different one: every wait sees a new render.
        for (const id of state.views) {
          await showView(other, id);
          await check(`${id} (${state.id})`, other, await uiText(other));
        }
        expect(other.errors, `${locale.id} ${state.id}`).toEqual([]);
        await other.close();
      }
    }

    /** What English shows on each checked view and state: a translation showing the same words left them English. */
    const english = new Map<string, Set<string>>();
    beforeAll(async () => {
      const en = LOCALES.find((l) => l.id === 'en')!;
      const page = await openIn(en);
      await eachCheckedView(en, page, async (where, _page, text) => void english.set(where, new Set(text)));
      await page.close();
      expect([...english.keys()]).toHaveLength(CHECKED.length + STATES.reduce((n, s) => n + s.views.length, 0));
    }, 120_000);

    for (const [index, locale] of LOCALES.entries()) {
      it(`${locale.id}: every view translated, nothing overflowing, axe clean`, async () => {
        const scheme = index % 2 === 0 ? 'light' : 'dark';
        const page = await openIn(locale);
        await page.emulateMedia({ colorScheme: scheme });
        expect(await page.getAttribute('html', 'lang')).toBe(locale.id);
        expect(await page.getAttribute('html', 'dir')).toBe(locale.dir);
        expect(await page.textContent('#tab-status')).toBe(locale.catalog['nav.status']);
        for (const id of VIEW_IDS) {
          await showView(page, id);
          await page.screenshot({ path: path.join(artifacts, `${id}-${locale.id}-${scheme}.png`), fullPage: true });
          expect(await overflowing(page), `${id} ${locale.id}`).toEqual([]);
          expect(await axeViolations(page), `${id} ${locale.id}`).toEqual([]);
        }
        // Commands stay left-to-right and isolated whatever the page's direction.
        await showView(page, 'approvals');
        expect(
          await page.$$eval('#history-results code', (els) => els.map((el) => getComputedStyle(el).direction)),
        ).toEqual(expect.arrayContaining(['ltr']));
        if (locale.dir === 'rtl') {
          const nav = (await page.locator('nav').boundingBox())!;
          const main = (await page.locator('main').boundingBox())!;
          expect(nav.x, 'the navigation is on the right').toBeGreaterThan(main.x);
        }
        // No English left on the views moved onto the catalogue, in any state they are shown in. In the
        // pseudo-locale every message is marked, so any other word was written into the view.
        const seen: string[] = [];
        await eachCheckedView(locale, page, async (where, shown, text) => {
          seen.push(where);
          expect(text.length, `${where}: some UI text`).toBeGreaterThan(0);
          expect(await overflowing(shown), `${where} ${locale.id}`).toEqual([]);
          if (locale.id === 'en') return;
          expect(englishLeftovers(text, english.get(where) ?? new Set(), locale), `${where} ${locale.id}`).toEqual([]);
          if (locale.id === PSEUDO_LOCALE) expect(hardCoded(text), `${where} ${locale.id}`).toEqual([]);
        });
        expect(seen.sort()).toEqual([...english.keys()].sort());
        expect(page.errors, locale.id).toEqual([]);
        await page.close();
      }, 150_000);
    }
  });

  it('a view re-renders only for the topics it follows: a status event leaves the approvals view alone', async () => {
    const page = await openPage('#approvals');
    await page.waitForSelector('#history-results table');
    const before = page.ipc.calls('listPendingApprovals');
    await emit(page, 'status');
    await emit(page, 'devices', 'nodes', 'logs');
    await settled(page);
    expect(page.ipc.calls('listPendingApprovals')).toBe(before);
    await emit(page, 'approvals');
    await settled(page);
    expect(page.ipc.calls('listPendingApprovals')).toBe(before + 1);
    await page.close();
  });

  it('typing in the history search survives a live update: text, caret, focus and filter stay', async () => {
    const page = await openPage('#approvals');
    await page.waitForSelector('#history-results table');
    await page.selectOption('#history-decision', 'allow-once');
    await page.click('#history-search');
    await page.keyboard.type('git pu');
    await page.waitForFunction(() => document.querySelectorAll('#history-results tbody tr').length === 1);
    const section = await page.$('#content section');
    const renders = page.ipc.calls('listPendingApprovals');
    await emit(page, 'approvals');
    // Rebuilt (a new section), yet what the person entered is back in place.
    await page.waitForFunction((old) => document.querySelector('#content section') !== old, section);
    expect(page.ipc.calls('listPendingApprovals')).toBe(renders + 1);
    expect(await page.inputValue('#history-search')).toBe('git pu');
    expect(await page.inputValue('#history-decision')).toBe('allow-once');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('history-search');
    // The caret is where it was: the next keystrokes continue the word.
    await page.keyboard.type('sh');
    expect(await page.inputValue('#history-search')).toBe('git push');
    await page.waitForFunction(() =>
      document.querySelector('#history-results tbody')?.textContent?.includes('git push'),
    );
    await page.close();
  });

  it('the history topic refreshes the approvals view: a newly recorded decision appears', async () => {
    const page = await openPage('#approvals');
    await page.waitForSelector('#history-results table');
    expect(await page.textContent('#history-results')).not.toContain('make release');
    const now = Date.now();
    await history.record({
      id: 'h-live',
      command: 'make release',
      cwd: '/home/dev/app',
      agentId: 'main',
      host: 'gateway',
      decision: 'allow-always',
      decidedBy: 'you',
      requestedAtMs: now - 2_000,
      resolvedAtMs: now - 1_000,
    });
    await emit(page, 'history');
    await page.waitForFunction(() => document.querySelector('#history-results')?.textContent?.includes('make release'));
    await page.close();
  });

  it('an older render that finishes after a newer one is dropped', async () => {
    const page = await openPage('#status');
    await page.waitForSelector('#content[data-view="status"]');
    const slow = page.ipc.holdNext('listDevices');
    await page.click('#tab-devices');
    await slow.answered;
    await page.click('#tab-nodes');
    await page.waitForSelector('#content[data-view="nodes"]');
    slow.release();
    await settled(page);
    expect(await page.textContent('#content h2')).toBe('Nodes');
    expect(await page.getAttribute('#content', 'data-view')).toBe('nodes');
    expect(await page.getAttribute('#tab-nodes', 'aria-current')).toBe('page');
    await page.close();
  });

  it('a failed export is reported in the status line like every other action', async () => {
    const page = await openPage('#approvals');
    await page.waitForSelector('#history-results table');
    page.ipc.failNext('exportApprovalHistory', 'the history file could not be read');
    await page.click('button:has-text("Export CSV")');
    await page.waitForFunction(() => document.querySelector('#status-line')?.className === 'error');
    expect(await page.textContent('#status-line')).toBe('Export CSV failed: the history file could not be read');
    expect(page.errors).toEqual([]);
    await page.close();
  });

  it('the approval prompt page: monospace command, Deny focused, Esc denies', async () => {
    const outcome = queue.request({
      id: 'prompt-1',
      request: {
        command: 'cat notes\u202Etxt.sh && rm -rf ~/.ssh # \u200B',
        cwd: '/home/dev',
        agentId: 'main',
        resolvedPath: '/usr/bin/cat',
        host: 'gateway',
        security: 'allowlist',
        ask: 'on-miss',
        allowedDecisions: ['allow-once', 'deny'],
      },
      createdAtMs: Date.now(),
      expiresAtMs: Date.now() + 60_000,
    });
    const page = await openPage('#prompt');
    await page.waitForSelector('.prompt pre.command');
    expect(await page.textContent('h1')).toBe('Allow this command?');
    expect(await page.textContent('pre.command')).toBe('cat notes⟨RLO⟩txt.sh && rm -rf ~/.ssh # ⟨ZWSP⟩');
    expect(await page.$$eval('.prompt-actions button', (bs) => bs.map((b) => b.textContent))).toEqual([
      'Allow once',
      'Deny',
    ]);
    expect(await page.evaluate(() => (document.activeElement as HTMLElement).dataset.decision)).toBe('deny');
    const font = await page.$eval('pre.command', (el) => getComputedStyle(el).fontFamily);
    expect(font).toMatch(/mono|Menlo|Consolas/i);
    expect(await page.textContent('.prompt')).toContain('This runs on this machine.');
    await page.screenshot({ path: path.join(artifacts, 'approval-prompt.png'), fullPage: true });
    expect(await axeViolations(page)).toEqual([]);
    await page.keyboard.press('Escape');
    expect(await outcome).toMatchObject({ decision: 'deny', source: 'user' });
    await page.close();
  });

  it('no IPC call from the pages was rejected', () => {
    expect(rejectedIpc).toEqual([]);
  });
});
