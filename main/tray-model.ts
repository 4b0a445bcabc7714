import type { TrayIconSpec } from './icon-art';
import type { MenuItemOptions } from './electron-facades';
import { englishMain, type MainTranslate } from './main-i18n';
import type { DashboardViewId, GatewayState, OwnerView, RemoteGatewayStateId } from '../common/ipc-contract';

/** A gateway on another machine, as the tray shows it (main/remote-gateways.ts). */
export interface TrayRemoteGateway {
  name: string;
  state: RemoteGatewayStateId;
  pairingRequestId?: string;
}

/** Everything the tray shows, derived from app state; pure so the rules are tested without Electron. */
export interface TrayInputs {
  gateway: GatewayState;
  port: number;
  owner: OwnerView;
  error?: string;
  pendingApprovals: Array<{ id: string; summary: string }>;
  pendingPairings: Array<{ requestId: string; summary: string }>;
  startAtLogin: boolean;
  /** The gateway mode chosen for this machine, and the ones the person can switch to. */
  mode?: { current: string; label: string; choices: Array<{ mode: string; label: string }> };
  /** What to do about an error (shown under the status line). */
  fix?: string;
  /** OpenClaw's Control UI can be opened (an OpenClaw mode, its gateway up). */
  controlUi?: boolean;
  /** Problems the dashboard lists under "Needs you" (main/app-notices.ts). */
  notices?: number;
  /** The updater (main/auto-update.ts); absent, the menu has no update items. */
  update?: TrayUpdateView;
  /** The saved gateways on other machines, one menu line each. */
  remoteGateways?: TrayRemoteGateway[];
}

export interface TrayUpdateView {
  channel: 'stable' | 'beta';
  /** One line: up to date, checking, failed and why, off and why, a version ready. */
  status: string;
  /** A downloaded, verified update: "Restart to update" is offered only then. */
  ready?: { version: string; waiting?: string; installing?: boolean };
}

export interface TrayActions {
  showApproval(id: string): void;
  showPairing(requestId: string): void;
  /** Opens the dashboard, at `view` when given. */
  openDashboard(view?: DashboardViewId): void;
  openControlUi?(): void;
  startGateway(): void;
  stopGateway(): void;
  restartGateway(): void;
  setStartAtLogin(enabled: boolean): void;
  setGatewayMode?(mode: string): void;
  restartToUpdate?(): void;
  cancelRestartToUpdate?(): void;
  setUpdateChannel?(channel: 'stable' | 'beta'): void;
  quit(): void;
}

/** Icon priority: an error first, then what needs the person (approvals, pairing), then the gateway state. */
export function trayIcon(inputs: TrayInputs): TrayIconSpec {
  if (inputs.gateway === 'error') return { state: 'error' };
  if (inputs.pendingApprovals.length > 0) return { state: 'approvals', count: inputs.pendingApprovals.length };
  if (inputs.pendingPairings.length > 0) return { state: 'pairing', count: inputs.pendingPairings.length };
  if (inputs.gateway === 'stopped' || inputs.gateway === 'degraded' || inputs.gateway === 'starting')
    return { state: 'stopped' };
  if (inputs.gateway === 'attached') return { state: 'attached' };
  return { state: 'running' };
}

export function gatewaySummary(inputs: TrayInputs, t: MainTranslate = englishMain): string {
  const port = String(inputs.port);
  switch (inputs.gateway) {
    case 'running':
      return t('gateway.running', { port });
    case 'attached':
      return t('gateway.attached', { owner: inputs.owner.description, port });
    case 'starting':
      return t('gateway.starting', { port });
    case 'stopped':
      return t('gateway.stopped');
    case 'degraded':
      return inputs.error ? t('gateway.degradedWhy', { error: inputs.error }) : t('gateway.degraded');
    case 'error':
      return inputs.error ? t('gateway.errorWhy', { error: inputs.error }) : t('gateway.error');
  }
}

const REMOTE_STATE_KEYS = {
  connecting: 'remote.connecting',
  connected: 'remote.connected',
  retrying: 'remote.retrying',
  'pairing-required': 'remote.pairingRequired',
  'auth-failed': 'remote.authFailed',
  'pin-mismatch': 'remote.pinMismatch',
  refused: 'remote.refused',
  'tunnel-failed': 'remote.tunnelFailed',
  failed: 'remote.failed',
  stopped: 'remote.stopped',
} as const satisfies Record<RemoteGatewayStateId, string>;

/** States the person has to do something about (the tooltip counts them). */
const REMOTE_NEEDS_PERSON: ReadonlySet<RemoteGatewayStateId> = new Set([
  'pairing-required',
  'auth-failed',
  'pin-mismatch',
  'refused',
  'tunnel-failed',
  'failed',
]);

/** "home — connected", "vps — waiting for pairing approval (request 3f2a9c1e…)", "office — certificate changed!". */
export function remoteGatewayLine(gateway: TrayRemoteGateway, t: MainTranslate = englishMain): string {
  const id = gateway.pairingRequestId ?? '';
  const request = id.length > 8 ? `${id.slice(0, 8)}…` : id || '…';
  return t(REMOTE_STATE_KEYS[gateway.state] ?? 'remote.failed', { name: gateway.name, request });
}

/** One line; OS tooltips truncate (Windows at 127 characters), so it is kept short. */
export function trayTooltip(inputs: TrayInputs, t: MainTranslate = englishMain): string {
  const parts = [`Clawdesk: ${gatewaySummary(inputs, t)}`];
  if (inputs.pendingApprovals.length > 0) parts.push(t('tooltip.approvals', { count: inputs.pendingApprovals.length }));
  if (inputs.pendingPairings.length > 0) parts.push(t('tooltip.pairings', { count: inputs.pendingPairings.length }));
  if (inputs.notices) parts.push(t('tooltip.notices', { count: inputs.notices }));
  const remoteProblems = (inputs.remoteGateways ?? []).filter((g) => REMOTE_NEEDS_PERSON.has(g.state)).length;
  if (remoteProblems) parts.push(t('tooltip.remoteProblems', { count: remoteProblems }));
  const line = parts.join(' · ').replace(/[\r\n]+/g, ' ');
  return line.length > 120 ? `${line.slice(0, 119)}…` : line;
}

/** A tray submenu lists this many waiting items at most; the rest are one line that opens the dashboard. */
export const TRAY_LIST_LIMIT = 10;

/**
 * A burst of requests must not become a menu taller than the screen (nor a menu rebuilt with every one of them on
 * each arrival): the first TRAY_LIST_LIMIT, oldest first, then "N more…".
 */
function listed(items: MenuItemOptions[], actions: TrayActions, t: MainTranslate): MenuItemOptions[] {
  if (items.length <= TRAY_LIST_LIMIT) return items;
  const more = items.length - TRAY_LIST_LIMIT;
  return [
    ...items.slice(0, TRAY_LIST_LIMIT),
    { type: 'separator' },
    { label: t('menu.more', { count: more }), click: () => actions.openDashboard() },
  ];
}

const UPDATE_CHANNEL_LABELS = { stable: 'menu.channelStable', beta: 'menu.channelBeta' } as const;

/** Restart only for an update that is downloaded and verified, and never while it waits for pending work. */
function updateItems(update: TrayUpdateView | undefined, actions: TrayActions, t: MainTranslate): MenuItemOptions[] {
  if (!update) return [];
  const status = update.status.replace(/[\r\n]+/g, ' ');
  const ready = update.ready;
  return [
    { type: 'separator' },
    { id: 'update-status', label: status.length > 100 ? `${status.slice(0, 99)}…` : status, enabled: false },
    ...(ready && !ready.waiting && !ready.installing
      ? [{ id: 'update', label: t('menu.restartToUpdate'), click: () => actions.restartToUpdate?.() }]
      : []),
    ...(ready?.waiting
      ? [{ id: 'update-cancel', label: t('menu.cancelRestart'), click: () => actions.cancelRestartToUpdate?.() }]
      : []),
    {
      id: 'update-channel',
      label: t('menu.updateChannel'),
      submenu: (['stable', 'beta'] as const).map((channel) => ({
        id: `update-channel-${channel}`,
        label: t(UPDATE_CHANNEL_LABELS[channel]),
        type: 'radio' as const,
        checked: channel === update.channel,
        click: () => {
          if (channel !== update.channel) actions.setUpdateChannel?.(channel);
        },
      })),
    },
  ];
}

/** A heading, then a line per gateway on another machine; each opens the dashboard, which says what to do. */
function remoteItems(gateways: TrayRemoteGateway[], actions: TrayActions, t: MainTranslate): MenuItemOptions[] {
  if (gateways.length === 0) return [];
  return [
    { type: 'separator' },
    { id: 'remote-header', label: t('remote.header'), enabled: false },
    ...listed(
      gateways.map((g) => ({
        id: `remote-${g.name}`,
        label: remoteGatewayLine(g, t),
        click: () => actions.openDashboard('gateways'),
      })),
      actions,
      t,
    ),
  ];
}

export function trayMenu(inputs: TrayInputs, actions: TrayActions, t: MainTranslate = englishMain): MenuItemOptions[] {
  const embedded = inputs.owner.kind === 'clawdesk' || inputs.owner.kind === 'none';
  const running = inputs.gateway === 'running' || inputs.gateway === 'starting' || inputs.gateway === 'degraded';
  const approvals = listed(
    inputs.pendingApprovals.map((a) => ({ label: a.summary, click: () => actions.showApproval(a.id) })),
    actions,
    t,
  );
  const pairings = listed(
    inputs.pendingPairings.map((p) => ({ label: p.summary, click: () => actions.showPairing(p.requestId) })),
    actions,
    t,
  );
  const mode = inputs.mode;
  const modeItems: MenuItemOptions[] = mode
    ? [
        { id: 'mode', label: t('menu.mode', { mode: mode.label }), enabled: false },
        {
          id: 'mode-switch',
          label: t('menu.modeSwitch'),
          submenu: mode.choices.map((choice) => ({
            id: `mode-${choice.mode}`,
            label: choice.label,
            type: 'radio' as const,
            checked: choice.mode === mode.current,
            click: () => {
              if (choice.mode !== mode.current) actions.setGatewayMode?.(choice.mode);
            },
          })),
        },
      ]
    : [];
  return [
    ...modeItems,
    { id: 'status', label: gatewaySummary(inputs, t), enabled: false },
    ...(inputs.gateway === 'error' && inputs.fix
      ? [
          {
            id: 'fix',
            label: t('menu.fix', { fix: inputs.fix.length > 100 ? `${inputs.fix.slice(0, 99)}…` : inputs.fix }),
            enabled: false,
          },
        ]
      : []),
    ...(inputs.owner.kind === 'other-process'
      ? [{ id: 'owner', label: t('menu.owner', { owner: inputs.owner.description }), enabled: false }]
      : []),
    ...remoteItems(inputs.remoteGateways ?? [], actions, t),
    { type: 'separator' },
    {
      id: 'approvals',
      label: t('menu.approvals', { count: inputs.pendingApprovals.length }),
      enabled: approvals.length > 0,
      ...(approvals.length > 0 ? { submenu: approvals } : {}),
    },
    {
      id: 'pairings',
      label: t('menu.pairings', { count: inputs.pendingPairings.length }),
      enabled: pairings.length > 0,
      ...(pairings.length > 0 ? { submenu: pairings } : {}),
    },
    ...(inputs.notices
      ? [
          {
            id: 'notices',
            label: t('menu.notices', { count: inputs.notices }),
            click: () => actions.openDashboard(),
          },
        ]
      : []),
    { type: 'separator' },
    { id: 'dashboard', label: t('menu.dashboard'), click: () => actions.openDashboard() },
    ...(inputs.controlUi && actions.openControlUi
      ? [{ id: 'control-ui', label: t('menu.controlUi'), click: () => actions.openControlUi?.() }]
      : []),
    { type: 'separator' },
    // Another process owns the port: never offer to start a second gateway on it.
    { id: 'start', label: t('menu.start'), enabled: embedded && !running, click: () => actions.startGateway() },
    { id: 'stop', label: t('menu.stop'), enabled: embedded && running, click: () => actions.stopGateway() },
    { id: 'restart', label: t('menu.restart'), enabled: embedded && running, click: () => actions.restartGateway() },
    ...updateItems(inputs.update, actions, t),
    { type: 'separator' },
    {
      id: 'login',
      label: t('menu.startAtLogin'),
      type: 'checkbox',
      checked: inputs.startAtLogin,
      click: (item) => actions.setStartAtLogin(item.checked),
    },
    { type: 'separator' },
    { id: 'quit', label: t('menu.quit'), role: undefined, click: () => actions.quit() },
  ];
}
