import { hardenForDisplay } from './display-hardening';
import type { DialogLike, MessageBoxOptions } from './electron-facades';
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

const SCOPE_WORDS: Record<string, string> = {
  'operator.read': 'see status, sessions and logs',
  'operator.write': 'send messages and run agents',
  'operator.admin': 'full control, including configuration and running commands on nodes',
  'operator.approvals': 'answer command approval requests',
  'operator.pairing': 'approve, remove and re-key other devices',
  'operator.talk.secrets': 'use talk and voice secrets',
};

const ROLE_WORDS: Record<string, string> = {
  operator: 'operator (controls the gateway)',
  node: 'node (runs commands for agents)',
};

function safe(value: string | undefined, max = 200): string {
  if (value === undefined || value === '') return '—';
  const clipped = value.length > max ? `${value.slice(0, max)}… (${value.length} characters)` : value;
  return hardenForDisplay(clipped).text;
}

export function describeScopes(scopes: readonly string[] | undefined): string {
  if (!scopes || scopes.length === 0) return 'none';
  return scopes
    .map((s) => (SCOPE_WORDS[s] ? `${SCOPE_WORDS[s]} (${safe(s, 64)})` : `unrecognised scope ${safe(s, 64)}`))
    .join('; ');
}

export function describeRoles(request: DevicePairRequest): string {
  const roles = [...new Set([...(request.roles ?? []), ...(request.role ? [request.role] : [])])];
  if (roles.length === 0) return 'operator (controls the gateway)';
  return roles.map((r) => ROLE_WORDS[r] ?? `unrecognised role ${safe(r, 64)}`).join(', ');
}

export function buildPairingPrompt(request: PairingRequest): PairingPromptView {
  if (request.kind === 'device') {
    const lines = [
      { label: 'Device', text: safe(request.displayName || request.deviceId) },
      { label: 'Platform', text: safe(request.platform) },
      { label: 'Role', text: describeRoles(request) },
      { label: 'Scopes', text: describeScopes(request.scopes) },
      { label: 'IP', text: safe(request.remoteIp) },
    ];
    if (request.isRepair) lines.push({ label: 'Repair', text: 'yes' });
    return { requestId: request.requestId, kind: 'device', title: 'Allow device to connect?', lines };
  }
  return {
    requestId: request.requestId,
    kind: 'node',
    title: 'Allow node to connect?',
    lines: [
      { label: 'Name', text: safe(request.displayName || request.nodeId) },
      { label: 'Node ID', text: safe(request.nodeId) },
      { label: 'Platform', text: safe(request.platform) },
      { label: 'App', text: safe(request.version) },
      { label: 'IP', text: safe(request.remoteIp) },
    ],
    note: request.isRepair ? 'Note: Repair request (token will rotate).' : undefined,
  };
}

export const PAIRING_BUTTONS: Array<{ label: string; choice: PairingChoice }> = [
  { label: 'Approve', choice: 'approve' },
  { label: 'Reject', choice: 'reject' },
  { label: 'Later', choice: 'later' },
];

/** Later is the default and the cancel action: dismissing a prompt never grants or refuses anything. */
export function toPairingMessageBox(view: PairingPromptView): MessageBoxOptions {
  const later = PAIRING_BUTTONS.findIndex((b) => b.choice === 'later');
  return {
    type: 'question',
    title: view.title,
    message: view.title,
    detail: [...view.lines.map((l) => `${l.label}: ${l.text}`), ...(view.note ? ['', view.note] : [])].join('\n'),
    buttons: PAIRING_BUTTONS.map((b) => b.label),
    defaultId: later,
    cancelId: later,
    noLink: true,
  };
}

export interface PairingPresenter {
  present(view: PairingPromptView, signal: AbortSignal): Promise<PairingChoice>;
}

export class MessageBoxPairingPresenter implements PairingPresenter {
  constructor(private readonly dialog: DialogLike) {}
  async present(view: PairingPromptView, signal: AbortSignal): Promise<PairingChoice> {
    const result = await this.dialog.showMessageBox({ ...toPairingMessageBox(view), signal });
    return PAIRING_BUTTONS[result.response]?.choice ?? 'later';
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
      choice = await this.options.presenter.present(buildPairingPrompt(request), signal);
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
