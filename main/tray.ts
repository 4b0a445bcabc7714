// The tray icon: its picture, tooltip and menu follow the gateway, the waiting approvals and pairings.
import type { ApprovalPromptView } from '../common/ipc-contract';
import type { MainTranslate } from './main-i18n';
import type { MainLog } from './main-log';
import type { MenuFactory, NativeImageFactory, TrayLike } from './electron-facades';
import type { GatewayStatusView } from './gateway-controller';
import type { PairingRequest } from './pairing-prompts';
import { TrayController } from './tray-controller';
import type { TrayActions, TrayInputs, TrayRemoteGateway } from './tray-model';

export interface TrayState {
  gateway: GatewayStatusView;
  approvals: ApprovalPromptView[];
  pairings: PairingRequest[];
  startAtLogin: boolean;
  mode?: TrayInputs['mode'];
  update?: TrayInputs['update'];
  notices?: number;
  remoteGateways?: TrayRemoteGateway[];
}

const shorten = (text: string) => (text.length > 60 ? `${text.slice(0, 59)}…` : text);

/** What the tray shows, from the app's state. */
export function trayInputs(state: TrayState): TrayInputs {
  const { gateway } = state;
  return {
    gateway: gateway.state,
    port: gateway.port,
    owner: gateway.owner,
    error: gateway.error,
    fix: gateway.fix,
    mode: state.mode,
    controlUi:
      (gateway.mode === 'openclaw-supervised' || gateway.mode === 'openclaw-external') &&
      (gateway.state === 'running' || gateway.state === 'attached'),
    pendingApprovals: state.approvals.map((v) => ({ id: v.promptId, summary: shorten(v.command.text) })),
    pendingPairings: state.pairings.map((p) => ({
      requestId: p.requestId,
      summary:
        p.kind === 'device'
          ? `${p.displayName ?? p.deviceId.slice(0, 12)} (device)`
          : `${p.displayName ?? p.nodeId} (node)`,
    })),
    startAtLogin: state.startAtLogin,
    notices: state.notices,
    update: state.update,
    remoteGateways: state.remoteGateways,
  };
}

export interface TrayDeps {
  tray: TrayLike;
  Menu: MenuFactory;
  nativeImage: NativeImageFactory;
  platform: NodeJS.Platform;
  iconCacheDir: string;
  actions: TrayActions;
  state(): TrayState;
  log?: MainLog;
  translate?: MainTranslate;
}

export interface AppTray {
  refresh(): void;
}

export function setupTray(deps: TrayDeps): AppTray {
  const controller = new TrayController({
    tray: deps.tray,
    menu: deps.Menu,
    images: deps.nativeImage,
    platform: deps.platform,
    iconCacheDir: deps.iconCacheDir,
    actions: deps.actions,
    log: deps.log,
    translate: deps.translate,
  });
  deps.tray.on('click', () => deps.actions.openDashboard());
  return { refresh: () => controller.update(trayInputs(deps.state())) };
}
