import type { TrayIconSpec } from './icon-art';
import type { MenuItemOptions } from './electron-facades';
import type { GatewayState, OwnerView } from '../common/ipc-contract';

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
  openDashboard(): void;
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

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

export function gatewaySummary(inputs: TrayInputs): string {
  switch (inputs.gateway) {
    case 'running':
      return `Gateway running on port ${inputs.port}`;
    case 'attached':
      return `Attached to ${inputs.owner.description} on port ${inputs.port}`;
    case 'starting':
      return `Gateway starting on port ${inputs.port}`;
    case 'stopped':
      return 'Gateway stopped';
    case 'degraded':
      return `Gateway degraded${inputs.error ? `: ${inputs.error}` : ''}`;
    case 'error':
      return `Gateway error${inputs.error ? `: ${inputs.error}` : ''}`;
  }
}

/** One line; OS tooltips truncate (Windows at 127 characters), so it is kept short. */
export function trayTooltip(inputs: TrayInputs): string {
  const parts = [`Clawdesk: ${gatewaySummary(inputs)}`];
  if (inputs.pendingApprovals.length > 0)
    parts.push(plural(inputs.pendingApprovals.length, 'approval waiting', 'approvals waiting'));
  if (inputs.pendingPairings.length > 0)
    parts.push(plural(inputs.pendingPairings.length, 'pairing request', 'pairing requests'));
  if (inputs.notices) parts.push(plural(inputs.notices, 'problem to fix', 'problems to fix'));
  const line = parts.join(' · ').replace(/[\r\n]+/g, ' ');
  return line.length > 120 ? `${line.slice(0, 119)}…` : line;
}

/** A tray submenu lists this many waiting items at most; the rest are one line that opens the dashboard. */
export const TRAY_LIST_LIMIT = 10;

/**
 * A burst of requests must not become a menu taller than the screen (nor a menu rebuilt with every one of them on
 * each arrival): the first TRAY_LIST_LIMIT, oldest first, then "N more…".
 */
function listed(items: MenuItemOptions[], actions: TrayActions): MenuItemOptions[] {
  if (items.length <= TRAY_LIST_LIMIT) return items;
  const more = items.length - TRAY_LIST_LIMIT;
  return [
    ...items.slice(0, TRAY_LIST_LIMIT),
    { type: 'separator' },
    { label: `${more} more waiting: open the dashboard`, click: () => actions.openDashboard() },
  ];
}

const UPDATE_CHANNEL_LABELS = { stable: 'Stable', beta: 'Beta (pre-releases)' } as const;

/** Restart only for an update that is downloaded and verified, and never while it waits for pending work. */
function updateItems(update: TrayUpdateView | undefined, actions: TrayActions): MenuItemOptions[] {
  if (!update) return [];
  const status = update.status.replace(/[\r\n]+/g, ' ');
  const ready = update.ready;
  return [
    { type: 'separator' },
    { id: 'update-status', label: status.length > 100 ? `${status.slice(0, 99)}…` : status, enabled: false },
    ...(ready && !ready.waiting && !ready.installing
      ? [{ id: 'update', label: 'Restart to update', click: () => actions.restartToUpdate?.() }]
      : []),
    ...(ready?.waiting
      ? [{ id: 'update-cancel', label: 'Cancel restart to update', click: () => actions.cancelRestartToUpdate?.() }]
      : []),
    {
      id: 'update-channel',
      label: 'Update channel',
      submenu: (['stable', 'beta'] as const).map((channel) => ({
        id: `update-channel-${channel}`,
        label: UPDATE_CHANNEL_LABELS[channel],
        type: 'radio' as const,
        checked: channel === update.channel,
        click: () => {
          if (channel !== update.channel) actions.setUpdateChannel?.(channel);
        },
      })),
    },
  ];
}

export function trayMenu(inputs: TrayInputs, actions: TrayActions): MenuItemOptions[] {
  const embedded = inputs.owner.kind === 'clawdesk' || inputs.owner.kind === 'none';
  const running = inputs.gateway === 'running' || inputs.gateway === 'starting' || inputs.gateway === 'degraded';
  const approvals = listed(
    inputs.pendingApprovals.map((a) => ({ label: a.summary, click: () => actions.showApproval(a.id) })),
    actions,
  );
  const pairings = listed(
    inputs.pendingPairings.map((p) => ({ label: p.summary, click: () => actions.showPairing(p.requestId) })),
    actions,
  );
  const mode = inputs.mode;
  const modeItems: MenuItemOptions[] = mode
    ? [
        { id: 'mode', label: `Gateway: ${mode.label}`, enabled: false },
        {
          id: 'mode-switch',
          label: 'Gateway mode',
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
    { id: 'status', label: gatewaySummary(inputs), enabled: false },
    ...(inputs.gateway === 'error' && inputs.fix
      ? [
          {
            id: 'fix',
            label: `Fix: ${inputs.fix.length > 100 ? `${inputs.fix.slice(0, 99)}…` : inputs.fix}`,
            enabled: false,
          },
        ]
      : []),
    ...(inputs.owner.kind === 'other-process'
      ? [{ id: 'owner', label: `Owner: ${inputs.owner.description}`, enabled: false }]
      : []),
    { type: 'separator' },
    {
      id: 'approvals',
      label: `Pending approvals (${inputs.pendingApprovals.length})`,
      enabled: approvals.length > 0,
      ...(approvals.length > 0 ? { submenu: approvals } : {}),
    },
    {
      id: 'pairings',
      label: `Pending pairings (${inputs.pendingPairings.length})`,
      enabled: pairings.length > 0,
      ...(pairings.length > 0 ? { submenu: pairings } : {}),
    },
    ...(inputs.notices
      ? [
          {
            id: 'notices',
            label: `${plural(inputs.notices, 'problem to fix', 'problems to fix')}: open the dashboard`,
            click: () => actions.openDashboard(),
          },
        ]
      : []),
    { type: 'separator' },
    { id: 'dashboard', label: 'Open dashboard', click: () => actions.openDashboard() },
    ...(inputs.controlUi && actions.openControlUi
      ? [{ id: 'control-ui', label: 'Open OpenClaw Control UI', click: () => actions.openControlUi?.() }]
      : []),
    { type: 'separator' },
    // Another process owns the port: never offer to start a second gateway on it.
    { id: 'start', label: 'Start gateway', enabled: embedded && !running, click: () => actions.startGateway() },
    { id: 'stop', label: 'Stop gateway', enabled: embedded && running, click: () => actions.stopGateway() },
    { id: 'restart', label: 'Restart gateway', enabled: embedded && running, click: () => actions.restartGateway() },
    ...updateItems(inputs.update, actions),
    { type: 'separator' },
    {
      id: 'login',
      label: 'Start at login',
      type: 'checkbox',
      checked: inputs.startAtLogin,
      click: (item) => actions.setStartAtLogin(item.checked),
    },
    { type: 'separator' },
    { id: 'quit', label: 'Quit Clawdesk', role: undefined, click: () => actions.quit() },
  ];
}
