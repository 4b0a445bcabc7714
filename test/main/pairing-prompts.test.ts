import { describe, expect, it } from 'vitest';
import {
  buildPairingPrompt,
  MessageBoxPairingPresenter,
  PairingPrompts,
  type PairingRequest,
} from '../../main/pairing-prompts';
import { FakeDialog, tick } from './fakes';

const device = (requestId: string, extra: Partial<PairingRequest> = {}): PairingRequest =>
  ({
    kind: 'device',
    requestId,
    deviceId: `dev-${requestId}`,
    displayName: `Laptop ${requestId}`,
    platform: 'linux',
    role: 'operator',
    scopes: ['operator.read', 'operator.approvals'],
    remoteIp: '192.168.1.20',
    ts: 1,
    ...extra,
  }) as PairingRequest;

function setup() {
  const dialog = new FakeDialog();
  const actions: string[] = [];
  const errors: string[] = [];
  const prompts = new PairingPrompts({
    presenter: new MessageBoxPairingPresenter(dialog.api),
    act: async (request, choice) => {
      if (request.requestId === 'fails') throw new Error('missing scope: operator.admin');
      actions.push(`${choice}:${request.requestId}`);
    },
    onError: (_r, error) => errors.push(String(error)),
  });
  return { dialog, prompts, actions, errors };
}

describe('pairing prompt text', () => {
  it('device prompt: name, platform, role, scopes in words, IP, repair flag', () => {
    const view = buildPairingPrompt(device('r1', { isRepair: true }));
    expect(view.title).toBe('Allow device to connect?');
    expect(Object.fromEntries(view.lines.map((l) => [l.label, l.text]))).toEqual({
      Device: 'Laptop r1',
      Platform: 'linux',
      Role: 'operator (controls the gateway)',
      Scopes: 'see status, sessions and logs (operator.read); answer command approval requests (operator.approvals)',
      IP: '192.168.1.20',
      Repair: 'yes',
    });
  });

  it('node prompt mirrors the macOS one, with the repair note', () => {
    const view = buildPairingPrompt({
      kind: 'node',
      requestId: 'n1',
      nodeId: 'node-abc',
      displayName: 'Build box',
      platform: 'linux',
      version: '1.2.3',
      isRepair: true,
      ts: 1,
    });
    expect(view.title).toBe('Allow node to connect?');
    expect(view.lines.map((l) => l.label)).toEqual(['Name', 'Node ID', 'Platform', 'App', 'IP']);
    expect(view.note).toBe('Note: Repair request (token will rotate).');
  });

  it('hostile display names are escaped; unknown scopes are called out', () => {
    const view = buildPairingPrompt(
      device('r2', { displayName: 'My Mac\u202Egnp.exe', scopes: ['operator.admin', 'operator.everything'] }),
    );
    expect(view.lines[0].text).toBe('My Mac⟨RLO⟩gnp.exe');
    expect(view.lines.find((l) => l.label === 'Scopes')!.text).toContain('unrecognised scope operator.everything');
    expect(view.lines.find((l) => l.label === 'Scopes')!.text).toContain('full control');
  });
});

describe('PairingPrompts queue', () => {
  it('Approve / Reject act on the gateway; Later (default and cancel) does nothing and defers', async () => {
    const { dialog, prompts, actions } = setup();
    prompts.requested(device('a'));
    prompts.requested(device('b'));
    prompts.requested(device('c'));
    const first = await dialog.box(0);
    expect(first.options.buttons).toEqual(['Approve', 'Reject', 'Later']);
    expect(first.options.buttons![first.options.defaultId!]).toBe('Later');
    expect(first.options.buttons![first.options.cancelId!]).toBe('Later');
    first.answer(0);
    (await dialog.box(1)).answer(1);
    (await dialog.box(2)).cancel();
    await tick();
    expect(actions).toEqual(['approve:a', 'reject:b']);
    expect(prompts.pending().map((r) => r.requestId)).toEqual(['c']);
    prompts.reopen('c');
    (await dialog.box(3)).answer(0);
    await tick();
    expect(actions).toEqual(['approve:a', 'reject:b', 'approve:c']);
    expect(prompts.pending()).toEqual([]);
  });

  it('a request resolved elsewhere closes its prompt and the next one shows', async () => {
    const { dialog, prompts, actions } = setup();
    prompts.requested(device('a'));
    prompts.requested(device('b'));
    const box = await dialog.box(0);
    prompts.resolved('a');
    expect(box.closedBySignal).toBe(true);
    const next = await dialog.box(1);
    expect(next.options.detail).toContain('Laptop b');
    next.answer(1);
    await tick();
    expect(actions).toEqual(['reject:b']);
  });

  it('a newer request for the same device supersedes the old one; silent requests are not prompted', async () => {
    const { dialog, prompts } = setup();
    prompts.requested(device('old', { deviceId: 'same' }));
    prompts.requested(device('quiet', { silent: true }));
    const first = await dialog.box(0);
    prompts.requested(device('new', { deviceId: 'same' }));
    expect(first.closedBySignal).toBe(true);
    expect(prompts.pending().map((r) => r.requestId)).toEqual(['new']);
    (await dialog.box(1)).answer(2);
  });

  it('a failing approval (e.g. missing scope) is reported, not swallowed', async () => {
    const { dialog, prompts, errors } = setup();
    prompts.requested(device('fails'));
    (await dialog.box(0)).answer(0);
    await tick();
    expect(errors).toEqual(['Error: missing scope: operator.admin']);
  });
});
