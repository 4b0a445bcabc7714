import path from 'node:path';
import { ensureOpenclawInstalled, openclawEnv, type OpenclawEnvironment } from '../../interop/openclaw-harness';
import type { TestCertificate } from '../helpers/tls';
import { NamespacedProcess, runIn, type TwoMachines } from './netns';

/**
 * The real OpenClaw gateway (the pinned package) on the "server" namespace: token auth, bound to its LAN address,
 * `gateway.tls` serving a certificate the test made. Shared by the netns suites that reach OpenClaw's own gateway
 * from the "laptop".
 */
export interface OpenclawTlsServer {
  environment: OpenclawEnvironment;
  /** Starts `openclaw gateway run` in the server namespace (after any change the caller makes to `environment`). */
  start(): NamespacedProcess;
  /** The person's `openclaw` on the server, with the gateway's own config (it dials its wss:// and pins certPath). */
  openclaw(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }>;
}

export function openclawTlsServer(
  m: TwoMachines,
  options: { root: string; port: number; token: string; cert: TestCertificate; extraConfig?: Record<string, unknown> },
): OpenclawTlsServer {
  const install = ensureOpenclawInstalled();
  const environment = openclawEnv({
    tmpDir: path.join(options.root, 'server'),
    port: options.port,
    authMode: 'token',
    token: options.token,
    extraConfig: {
      ...options.extraConfig,
      gateway: {
        mode: 'local',
        port: options.port,
        bind: 'lan',
        auth: { mode: 'token', token: options.token },
        tls: { enabled: true, autoGenerate: false, certPath: options.cert.certPath, keyPath: options.cert.keyPath },
      },
    },
  });
  // The loopback guard (scripts/loopback-guard.cjs) would refuse the LAN bind itself; the namespace, which has no
  // route anywhere but the laptop's veth (and, where a test adds one, the model's link), is the containment instead.
  delete environment.env.NODE_OPTIONS;
  return {
    environment,
    start: () =>
      new NamespacedProcess(
        m.server,
        install.nodeBin,
        [install.openclawEntry, 'gateway', 'run', '--port', String(options.port), '--bind', 'lan', '--auth', 'token'],
        environment.env,
      ),
    openclaw: (args) => runIn(m.server, install.nodeBin, [install.openclawEntry, ...args], environment.env, 120_000),
  };
}

/** The laptop's environment: its own HOME and state dir under the test's root. */
export function laptopEnvironment(root: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: path.join(root, 'laptop-home'),
    OPENCLAW_STATE_DIR: path.join(root, 'laptop'),
  };
}
