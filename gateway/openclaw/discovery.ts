import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { locateOpenclawInstall, type LocateResult, type OpenclawInstall } from './install';
import {
  findPortOwner,
  findServiceOwner,
  probeGatewayPort,
  type PortOwner,
  type PortProbe,
  type ServiceOwner,
} from './port-owner';

/**
 * What a machine already has of OpenClaw, for choosing a gateway mode: an install Clawdesk can supervise (its own
 * in the data dir, one the person named, or the `openclaw` on PATH), a gateway already answering on the port, and
 * OpenClaw's own service (systemd user unit, LaunchAgent, scheduled task) installed. Read-only: nothing here starts,
 * stops or writes anything.
 */

/** The three ways Clawdesk can have a gateway (docs/openclaw-supervision.md § Gateway modes). */
export type GatewayMode = 'openclaw-supervised' | 'openclaw-external' | 'clawdesk-builtin';

export const GATEWAY_MODES: readonly GatewayMode[] = ['openclaw-supervised', 'openclaw-external', 'clawdesk-builtin'];

export const GATEWAY_MODE_LABELS: Record<GatewayMode, string> = {
  'openclaw-supervised': 'OpenClaw (supervised)',
  'openclaw-external': 'OpenClaw (external)',
  'clawdesk-builtin': 'Clawdesk (built-in)',
};

/** OpenClaw's service names for a profile, as its service installer derives them. */
export function openclawServiceNames(profile?: string): {
  systemdUnit: string;
  launchAgent: string;
  windowsTask: string;
} {
  const trimmed = profile?.trim();
  const named = trimmed && trimmed.toLowerCase() !== 'default' ? trimmed : undefined;
  return {
    systemdUnit: `openclaw-gateway${named ? `-${named}` : ''}.service`,
    launchAgent: named ? `ai.openclaw.${named}` : 'ai.openclaw.gateway',
    windowsTask: named ? `OpenClaw Gateway (${named})` : 'OpenClaw Gateway',
  };
}

export interface InstalledService {
  manager: 'systemd' | 'launchd' | 'schtasks';
  name: string;
  /** The unit file or plist, where there is one. */
  file?: string;
}

export interface ServiceLookupOptions {
  env?: NodeJS.ProcessEnv;
  platform?: NodeJS.Platform;
  homedir?: string;
  profile?: string;
  /** Whether a scheduled task exists (Windows); injectable for tests. */
  windowsTaskExists?: (name: string) => Promise<boolean>;
}

function windowsTaskExists(name: string): Promise<boolean> {
  return new Promise((resolve) => {
    execFile('schtasks', ['/Query', '/TN', name], { timeout: 5_000, windowsHide: true }, (error) => resolve(!error));
  });
}

/** OpenClaw's own service definition for this user and profile, when one is installed (running or not). */
export async function findInstalledService(options: ServiceLookupOptions = {}): Promise<InstalledService | undefined> {
  const env = options.env ?? process.env;
  const platform = options.platform ?? process.platform;
  const home = options.homedir ?? env.HOME ?? os.homedir();
  const names = openclawServiceNames(options.profile ?? env.OPENCLAW_PROFILE);
  if (platform === 'linux') {
    const configHome = env.XDG_CONFIG_HOME?.trim() || path.join(home, '.config');
    const file = path.join(configHome, 'systemd', 'user', names.systemdUnit);
    return fs.existsSync(file) ? { manager: 'systemd', name: names.systemdUnit, file } : undefined;
  }
  if (platform === 'darwin') {
    const file = path.join(home, 'Library', 'LaunchAgents', `${names.launchAgent}.plist`);
    return fs.existsSync(file) ? { manager: 'launchd', name: names.launchAgent, file } : undefined;
  }
  if (platform === 'win32') {
    const exists = await (options.windowsTaskExists ?? windowsTaskExists)(names.windowsTask);
    return exists ? { manager: 'schtasks', name: names.windowsTask } : undefined;
  }
  return undefined;
}

/** An `openclaw` the person installed with npm (global or their own prefix), found on PATH, and the `node` beside it. */
export interface PathInstall {
  /** The `openclaw` package dir. */
  packageDir: string;
  /** The first `node` on PATH, if any (checked against the package's engines when located). */
  nodeBin?: string;
}

function pathDirs(env: NodeJS.ProcessEnv): string[] {
  const key = Object.keys(env).find((k) => k.toUpperCase() === 'PATH') ?? 'PATH';
  return (env[key] ?? '').split(path.delimiter).filter(Boolean);
}

function isOpenclawPackage(dir: string): boolean {
  try {
    return (
      fs.existsSync(path.join(dir, 'openclaw.mjs')) &&
      JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).name === 'openclaw'
    );
  } catch {
    return false;
  }
}

export function findOpenclawOnPath(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
): PathInstall | undefined {
  const dirs = pathDirs(env);
  let packageDir: string | undefined;
  for (const dir of dirs) {
    if (platform === 'win32') {
      // npm's .cmd shim sits beside node_modules/ in the prefix.
      const candidate = path.join(dir, 'node_modules', 'openclaw');
      if (fs.existsSync(path.join(dir, 'openclaw.cmd')) && isOpenclawPackage(candidate)) {
        packageDir = candidate;
        break;
      }
      continue;
    }
    const bin = path.join(dir, 'openclaw');
    try {
      const real = fs.realpathSync(bin);
      const candidate = path.dirname(real);
      if (path.basename(real) === 'openclaw.mjs' && isOpenclawPackage(candidate)) {
        packageDir = candidate;
        break;
      }
    } catch {
      // not here
    }
  }
  if (!packageDir) return undefined;
  const nodeName = platform === 'win32' ? 'node.exe' : 'node';
  const nodeDir = dirs.find((dir) => fs.existsSync(path.join(dir, nodeName)));
  return { packageDir, nodeBin: nodeDir ? path.join(nodeDir, nodeName) : undefined };
}

/** Where Clawdesk takes OpenClaw from: the person's choice, else its own data dir, else the `openclaw` on PATH. */
export interface InstallPreference {
  installPath?: string;
  nodePath?: string;
}

export function locatePreferredInstall(
  preference: InstallPreference,
  options: { dataDir: string; env?: NodeJS.ProcessEnv; platform?: NodeJS.Platform },
): LocateResult {
  if (preference.installPath)
    return locateOpenclawInstall({ installPath: preference.installPath, nodePath: preference.nodePath });
  const own = locateOpenclawInstall({ dataDir: options.dataDir, nodePath: preference.nodePath });
  if (own.ok || own.code !== 'install-missing') return own;
  const onPath = findOpenclawOnPath(options.env, options.platform);
  if (!onPath) return own;
  const found = locateOpenclawInstall({
    installPath: onPath.packageDir,
    nodePath: preference.nodePath ?? onPath.nodeBin,
  });
  if (found.ok) return { ok: true, install: { ...found.install, source: 'path' } };
  return { ...found, tried: [...own.tried, ...found.tried] };
}

export interface OpenclawFindings {
  port: number;
  install: LocateResult;
  probe: PortProbe;
  /** Who runs the gateway that answers on the port, when the OS tells. */
  runningOwner?: PortOwner;
  runningService?: ServiceOwner;
  service?: InstalledService;
}

export interface DiscoverOptions extends ServiceLookupOptions {
  port: number;
  dataDir: string;
  preference?: InstallPreference;
  probe?: (port: number) => Promise<PortProbe>;
  findOwner?: (port: number) => Promise<PortOwner | undefined>;
  findService?: (pid: number) => Promise<ServiceOwner | undefined>;
}

export async function discoverOpenclaw(options: DiscoverOptions): Promise<OpenclawFindings> {
  const install = locatePreferredInstall(options.preference ?? {}, {
    dataDir: options.dataDir,
    env: options.env,
    platform: options.platform,
  });
  const probe = await (options.probe ?? ((port) => probeGatewayPort(port)))(options.port);
  let runningOwner: PortOwner | undefined;
  let runningService: ServiceOwner | undefined;
  if (probe.kind === 'openclaw') {
    runningOwner = await (options.findOwner ?? findPortOwner)(options.port).catch(() => undefined);
    if (runningOwner)
      runningService = await (options.findService ?? ((pid) => findServiceOwner(pid)))(runningOwner.pid).catch(
        () => undefined,
      );
  }
  const service = await findInstalledService(options).catch(() => undefined);
  return { port: options.port, install, probe, runningOwner, runningService, service };
}

export interface ModeProposal {
  mode: GatewayMode;
  /** Why, in one sentence for a person. */
  reason: string;
}

function ownerText(findings: OpenclawFindings): string {
  if (findings.runningService) return `${findings.runningService.name}`;
  if (findings.runningOwner)
    return `${findings.runningOwner.name ? `${findings.runningOwner.name} ` : ''}(PID ${findings.runningOwner.pid})`;
  return 'a process Clawdesk did not start';
}

/**
 * The first run's proposal. One owner per gateway: a gateway already answering, or OpenClaw's own service
 * installed, means OpenClaw runs it already, so Clawdesk attaches (external) rather than starting a second one;
 * an install Clawdesk can run means supervised; nothing of OpenClaw means the built-in gateway.
 */
export function proposeGatewayMode(findings: OpenclawFindings): ModeProposal {
  const port = findings.port;
  if (findings.probe.kind === 'openclaw')
    return {
      mode: 'openclaw-external',
      reason: `a gateway already answers on port ${port} (${ownerText(findings)}); Clawdesk can attach to it and leave it running`,
    };
  if (findings.service)
    return {
      mode: 'openclaw-external',
      reason: `OpenClaw's own service is installed (${findings.service.name}); it owns the gateway, so Clawdesk attaches to it rather than starting a second one`,
    };
  if (findings.install.ok)
    return {
      mode: 'openclaw-supervised',
      reason: `OpenClaw ${findings.install.install.openclawVersion} is installed (${findings.install.install.packageDir}) with Node ${findings.install.install.nodeVersion}; Clawdesk can run its gateway for you`,
    };
  if (findings.install.code !== 'install-missing')
    return {
      mode: 'openclaw-supervised',
      reason: `OpenClaw is installed but cannot run yet: ${findings.install.reason}`,
    };
  return {
    mode: 'clawdesk-builtin',
    reason: 'OpenClaw is not installed here; Clawdesk runs its own lightweight gateway',
  };
}

export type { OpenclawInstall };
