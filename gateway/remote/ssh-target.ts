/**
 * `user@host[:port]`, as OpenClaw's `gateway.remote.sshTarget` takes it. Rejects anything `ssh` could read as an
 * option (a leading `-`) or that could smuggle a second argument (white space, control characters).
 */
export interface SshTarget {
  user?: string;
  host: string;
  port: number;
}

function unsafe(value: string): boolean {
  return /[\s\u0000-\u001f\u007f]/.test(value) || value.startsWith('-');
}

export function parseSshTarget(raw: string): SshTarget | undefined {
  const text = raw.trim();
  if (!text) return undefined;
  const at = text.lastIndexOf('@');
  const user = at >= 0 ? text.slice(0, at) : undefined;
  let host = at >= 0 ? text.slice(at + 1) : text;
  let port = 22;
  if (user !== undefined && (!user || unsafe(user) || user.includes('@'))) return undefined;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(host);
  if (bracketed) {
    host = bracketed[1];
    if (bracketed[2]) port = Number(bracketed[2]);
  } else {
    const colon = host.lastIndexOf(':');
    if (colon >= 0 && host.indexOf(':') === colon) {
      const portText = host.slice(colon + 1);
      if (!/^\d{1,5}$/.test(portText)) return undefined;
      port = Number(portText);
      host = host.slice(0, colon);
    }
  }
  if (!host || unsafe(host) || host.startsWith(':') || host.includes('@') || host.includes('/')) return undefined;
  if (!Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  return { ...(user ? { user } : {}), host, port };
}

export function formatSshTarget(target: SshTarget): string {
  const host = target.host.includes(':') ? `[${target.host}]` : target.host;
  return `${target.user ? `${target.user}@` : ''}${host}${target.port === 22 ? '' : `:${target.port}`}`;
}
