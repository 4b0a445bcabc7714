import { hardenForDisplay } from './display-hardening';
import type { DialogLike, MessageBoxOptions } from './electron-facades';
import { englishMain, type MainMessageKey, type MainTranslate } from './main-i18n';
import { PromptQueue } from './prompt-queue';

/** `device.pair.requested` (docs/protocol.md § Pairing): the full pending request; every string is untrusted. */
export interface DevicePairRequest {
  requestId: string;
  deviceId: string;
  publicKey?: string;
  displayName?: string;
  platform?: string;
  deviceFamily?: string;
  clientId?: string;
  clientMode?: string;
  role?: string;
  roles?: string[];
  scopes?: string[];
  remoteIp?: string;
  silent?: boolean;
  isRepair?: boolean;
  ts: number;
}

/** `node.pair.requested`, keyed by nodeId. */
export interface NodePairRequest {
  requestId: string;
  nodeId: string;
  displayName?: string;
  platform?: string;
  version?: string;
  remoteIp?: string;
  isRepair?: boolean;
  ts: number;
}

export type PairingRequest = ({ kind: 'device' } & DevicePairRequest) | ({ kind: 'node' } & NodePairRequest);
export type PairingChoice = 'approve' | 'reject' | 'later';

export interface PairingPromptView {
  requestId: string;
  kind: 'device' | 'node';
  title: string;
  lines: Array<{ label: string; text: string }>;
  note?: string;
}

/** What a scope or role lets a device do, in the person's language; the scope's own id is shown next to it. */
const SCOPE_WORDS: Record<string, MainMessageKey> = {
  'operator.read': 'scope.read',
  'operator.write': 'scope.write',
  'operator.admin': 'scope.admin',
  'operator.approvals': 'scope.approvals',
  'operator.pairing': 'scope.pairing',
  'operator.talk.secrets': 'scope.talkSecrets',
};

const ROLE_WORDS: Record<string, MainMessageKey> = {
  operator: 'role.operator',
  node: 'role.node',
};

/** The request's text, hardened; a clipped value says how long it was in the prompt's own (unhardened) words. */
function safe(value: string | undefined, t: MainTranslate, max = 200): string {
  if (value === undefined || value === '') return '—';
  if (value.length <= max) return hardenForDisplay(value).text;
  return t('pairing.clipped', { text: hardenForDisplay(value.slice(0, max)).text, count: value.length });
}

const own = (words: Record<string, MainMessageKey>, id: string): MainMessageKey | undefined =>
  Object.hasOwn(words, id) ? words[id] : undefined;

export function describeScopes(scopes: readonly string[] | undefined, t: MainTranslate = englishMain): string {
  if (!scopes || scopes.length === 0) return t('scope.none');
  return scopes
    .map((s) => {
      const key = own(SCOPE_WORDS, s);
      return key ? `${t(key)} (${safe(s, t, 64)})` : t('scope.unrecognised', { scope: safe(s, t, 64) });
    })
    .join('; ');
}

export function describeRoles(request: DevicePairRequest, t: MainTranslate = englishMain): string {
  const roles = [...new Set([...(request.roles ?? []), ...(request.role ? [request.role] : [])])];
  if (roles.length === 0) return t('role.operator');
  return roles
    .map((r) => {
      const key = own(ROLE_WORDS, r);
      return key ? t(key) : t('role.unrecognised', { role: safe(r, t, 64) });
    })
    .join(', ');
}

/** The prompt in the person's language (`t`); every value the request carries is hardened, never translated. */
export function buildPairingPrompt(request: PairingRequest, t: MainTranslate = englishMain): PairingPromptView {
  if (request.kind === 'device') {
    const lines = [
      { label: t('pairing.device'), text: safe(request.displayName || request.deviceId, t) },
      { label: t('pairing.platform'), text: safe(request.platform, t) },
      { label: t('pairing.role'), text: describeRoles(request, t) },
      { label: t('pairing.scopes'), text: describeScopes(request.scopes, t) },
      { label: t('pairing.ip'), text: safe(request.remoteIp, t) },
    ];
    if (request.isRepair) lines.push({ label: t('pairing.repair'), text: t('pairing.yes') });
    return { requestId: request.requestId, kind: 'device', title: t('pairing.deviceTitle'), lines };
  }
  return {
    requestId: request.requestId,
    kind: 'node',
    title: t('pairing.nodeTitle'),
    lines: [
      { label: t('pairing.name'), text: safe(request.displayName || request.nodeId, t) },
      { label: t('pairing.nodeId'), text: safe(request.nodeId, t) },
      { label: t('pairing.platform'), text: safe(request.platform, t) },
      { label: t('pairing.app'), text: safe(request.version, t) },
      { label: t('pairing.ip'), text: safe(request.remoteIp, t) },
    ],
    note: request.isRepair ? t('pairing.repairNote') : undefined,
  };
}

/** Approve and Reject are the glossary's exact terms (the dashboard's Devices view uses the same words). */
const PAIRING_BUTTON_KEYS: Array<{ key: MainMessageKey; choice: PairingChoice }> = [
  { key: 'pairing.approve', choice: 'approve' },
  { key: 'pairing.reject', choice: 'reject' },
  { key: 'notify.later', choice: 'later' },
];

export function pairingButtons(t: MainTranslate = englishMain): Array<{ label: string; choice: PairingChoice }> {
  return PAIRING_BUTTON_KEYS.map((b) => ({ label: t(b.key), choice: b.choice }));
}

export const PAIRING_BUTTONS: Array<{ label: string; choice: PairingChoice }> = pairingButtons();

/** Later is the default and the cancel action: dismissing a prompt never grants or refuses anything. */
export function toPairingMessageBox(view: PairingPromptView, t: MainTranslate = englishMain): MessageBoxOptions {
  const buttons = pairingButtons(t);
  const later = buttons.findIndex((b) => b.choice === 'later');
  return {
    type: 'question',
    title: view.title,
    message: view.title,
    detail: [...view.lines.map((l) => `${l.label}: ${l.text}`), ...(view.note ? ['', view.note] : [])].join('\n'),
    buttons: buttons.map((b) => b.label),
    defaultId: later,
    cancelId: later,
    noLink: true,
  };
}

export interface PairingPresenter {
  present(view: PairingPromptView, signal: AbortSignal): Promise<PairingChoice>;
  /** The words the view is built in; English when absent. */
  readonly translate?: MainTranslate;
}

export class MessageBoxPairingPresenter implements PairingPresenter {
  constructor(
    private readonly dialog: DialogLike,
    /** The prompt's words (the person's language); asked at each prompt, so a language chosen meanwhile applies. */
    readonly translate: MainTranslate = englishMain,
  ) {}
  async present(view: PairingPromptView, signal: AbortSignal): Promise<PairingChoice> {
    const result = await this.dialog.showMessageBox({ ...toPairingMessageBox(view, this.translate), signal });
    return PAIRING_BUTTON_KEYS[result.response]?.choice ?? 'later';
  }
}

export interface PairingPromptsOptions {
  presenter: PairingPresenter;
  /** Calls device.pair.approve/reject or node.pair.approve/reject on the gateway. */
  act(request: PairingRequest, choice: 'approve' | 'reject'): Promise<void>;
  onError?(request: PairingRequest, error: unknown): void;
  onChange?(): void;
}

/**
 * Pairing prompts, queued one at a time. Requests resolved elsewhere (`*.pair.resolved`, or superseded) are
 * dismissed; "Later" keeps a request pending on the gateway and out of the way until the user asks for it.
 */
export class PairingPrompts {
  private readonly queue = new PromptQueue<PairingRequest>((request, signal) => this.show(request, signal));
  private readonly deferredRequests = new Map<string, PairingRequest>();

  constructor(private readonly options: PairingPromptsOptions) {}

  /** Every request still open on the gateway that this app knows about (queued, showing or deferred). */
  pending(): PairingRequest[] {
    return [...this.queue.list(), ...this.deferredRequests.values()];
  }

  /** Seeds from `device.pair.list` / `node.pair.list` after (re)connecting; silent requests are not prompted. */
  seed(requests: PairingRequest[]): void {
    for (const request of requests) this.requested(request);
  }

  requested(request: PairingRequest): void {
    if (request.kind === 'device' && request.silent) return;
    // A new request for the same device/node supersedes the old one (docs/protocol.md § Pairing).
    const key = subjectOf(request);
    for (const old of this.pending())
      if (subjectOf(old) === key && old.requestId !== request.requestId) this.resolved(old.requestId);
    if (this.queued(request.requestId) || this.deferredRequests.has(request.requestId)) return;
    this.queue.add(request);
    this.options.onChange?.();
  }

  resolved(requestId: string): void {
    const queued = this.queued(requestId);
    const removedDeferred = this.deferredRequests.delete(requestId);
    // Removing the request on screen closes its dialog.
    if (queued) this.queue.remove(queued);
    if (queued || removedDeferred) this.options.onChange?.();
  }

  /** Brings a deferred request back to the front of the queue (tray menu / dashboard). */
  reopen(requestId: string): void {
    const request = this.deferredRequests.get(requestId);
    if (!request) return;
    this.deferredRequests.delete(requestId);
    this.queue.add(request, 'front');
    this.options.onChange?.();
  }

  private queued(requestId: string): PairingRequest | undefined {
    return this.queue.list().find((r) => r.requestId === requestId);
  }

  private async show(request: PairingRequest, signal: AbortSignal): Promise<void> {
    let choice: PairingChoice;
    try {
      const { presenter } = this.options;
      choice = await presenter.present(buildPairingPrompt(request, presenter.translate), signal);
    } catch {
      choice = 'later';
    }
    // Resolved elsewhere, or another request was put in front (then this one is shown again after it).
    if (signal.aborted || this.queue.head() !== request) return;
    this.queue.remove(request);
    if (choice === 'later') {
      this.deferredRequests.set(request.requestId, request);
    } else {
      try {
        await this.options.act(request, choice);
      } catch (error) {
        this.options.onError?.(request, error);
      }
    }
    this.options.onChange?.();
  }
}

function subjectOf(request: PairingRequest): string {
  return request.kind === 'device' ? `device:${request.deviceId}` : `node:${request.nodeId}`;
}
