/**
 * Which node commands the gateway lets through, by platform (docs/protocol.md § Nodes): a node's declared commands
 * are cut to its platform's list (and the configured allow/deny lists) before anyone can approve or invoke them.
 */

const EXEC_COMMANDS = [
  'system.run.prepare',
  'system.run',
  'system.which',
  'system.execApprovals.get',
  'system.execApprovals.set',
];
const DESKTOP_COMMANDS = [...EXEC_COMMANDS, 'system.notify', 'browser.proxy'];
const MACOS_EXTRA = [
  'canvas.present',
  'canvas.hide',
  'canvas.navigate',
  'canvas.eval',
  'canvas.snapshot',
  'camera.list',
  'location.get',
  'device.info',
  'device.status',
];
/** Commands that need an explicit `allowCommands` even on a platform that knows them. */
const DANGEROUS_COMMANDS = new Set(['camera.snap', 'camera.clip', 'screen.record']);
/** Reserved: reachable only through exec.approvals.node.*, which relays them with the socket token redacted. */
export const RAW_INVOKE_FORBIDDEN = new Set(['system.execApprovals.get', 'system.execApprovals.set']);

export type NodePlatformClass = 'windows' | 'macos' | 'linux' | 'ios' | 'android' | 'unknown';

export function classifyNodePlatform(platform: string | undefined, deviceFamily?: string): NodePlatformClass {
  const p = (platform ?? '').trim().toLowerCase();
  if (p.startsWith('win')) return 'windows';
  if (p.startsWith('mac') || p.startsWith('darwin')) return 'macos';
  if (p.startsWith('linux')) return 'linux';
  if (p.startsWith('ios')) return 'ios';
  if (p.startsWith('android')) return 'android';
  const family = (deviceFamily ?? '').toLowerCase();
  for (const token of family.split(/[^a-z]+/)) {
    if (token === 'windows') return 'windows';
    if (token === 'mac' || token === 'macos') return 'macos';
    if (token === 'linux') return 'linux';
    if (token === 'iphone' || token === 'ipad' || token === 'ios') return 'ios';
    if (token === 'android') return 'android';
  }
  return 'unknown';
}

function platformAllowlist(cls: NodePlatformClass): Set<string> {
  switch (cls) {
    case 'windows':
    case 'linux':
      return new Set(DESKTOP_COMMANDS);
    case 'macos':
      return new Set([...DESKTOP_COMMANDS, ...MACOS_EXTRA]);
    case 'ios':
    case 'android':
      return new Set(['camera.list', 'location.get', 'device.info', 'device.status', 'system.notify']);
    default:
      return new Set();
  }
}

export interface NodeCommandPolicy {
  allowCommands?: readonly string[];
  denyCommands?: readonly string[];
}

/** Declared commands ∩ platform allowlist ∩ (allowCommands − denyCommands), in declared order, once each. */
export function filterDeclaredCommands(
  declared: readonly string[],
  cls: NodePlatformClass,
  config: NodeCommandPolicy = {},
): string[] {
  const allowed = platformAllowlist(cls);
  const extra = new Set(config.allowCommands ?? []);
  const deny = new Set(config.denyCommands ?? []);
  const out: string[] = [];
  for (const command of declared) {
    if (deny.has(command) || out.includes(command)) continue;
    if (DANGEROUS_COMMANDS.has(command) ? extra.has(command) : allowed.has(command) || extra.has(command))
      out.push(command);
  }
  return out;
}

/**
 * Scopes `node.pair.approve` needs for a command surface (docs/protocol.md § Nodes): admin for any `system.*`
 * (it runs programs), write for other commands, pairing alone for none.
 */
export function requiredApproveScopes(commands: readonly string[]): string[] {
  if (commands.some((c) => c.startsWith('system.'))) return ['operator.pairing', 'operator.admin'];
  if (commands.length) return ['operator.pairing', 'operator.write'];
  return ['operator.pairing'];
}
