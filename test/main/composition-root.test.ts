import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { probeGatewayPort } from '../../main/gateway-ownership';
import { INVOKE_METHODS, invokeChannel } from '../../common/ipc-contract';
import { freePort } from '../helpers/free-port';

const root = path.resolve(__dirname, '..', '..');
let child: ReturnType<typeof spawn> | undefined;
afterAll(() => {
  child?.kill('SIGKILL');
});


describe('main/index.ts (the built entry, with a stand-in electron module)', () => {
  it('starts: security guards, app protocol, every IPC channel, the embedded gateway and the tray', async () => {
    if (!existsSync(path.join(root, 'dist', 'main', 'index.js'))) execFileSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], { cwd: root });
    const home = mkdtempSync(path.join(os.tmpdir(), 'clawdesk-root-'));
    const port = await freePort();
    child = spawn(process.execPath, ['-r', path.join(__dirname, 'electron-stub.cjs'), path.join(root, 'dist', 'main', 'index.js')], {
      cwd: root,
      env: { ...process.env, HOME: home, USERPROFILE: home, OPENCLAW_STATE_DIR: path.join(home, 'state'), OPENCLAW_GATEWAY_PORT: String(port), OPENCLAW_GATEWAY_TOKEN: 'root-test-token-0123456789', STUB_USER_DATA: path.join(home, 'userdata'), XDG_CONFIG_HOME: path.join(home, '.config') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const reports: Array<{ kind: string; data: unknown }> = [];
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    await new Promise<void>((resolve, reject) => {
      let buffer = '';
      const timer = setTimeout(() => reject(new Error(`app did not report a running gateway; stderr: ${stderr}`)), 20_000);
      child!.stdout!.on('data', (data: Buffer) => {
        buffer += data.toString();
        let newline: number;
        while ((newline = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, newline);
          buffer = buffer.slice(newline + 1);
          if (!line.startsWith('STUB ')) continue;
          const entry = JSON.parse(line.slice(5));
          reports.push(entry);
          if (entry.kind === 'tooltip' && String(entry.data).includes(`Gateway running on port ${port}`)) {
            clearTimeout(timer);
            resolve();
          }
        }
      });
      child!.once('exit', (code) => reject(new Error(`app exited ${code}: ${stderr}`)));
    });
    const of = (kind: string) => reports.filter((r) => r.kind === kind).map((r) => r.data);
    expect(of('permission-request')).toEqual([false]);
    expect(of('permission-check')).toEqual([false]);
    expect(of('protocol')).toEqual(['clawdesk']);
    expect((of('ipc') as string[]).sort()).toEqual(INVOKE_METHODS.map(invokeChannel).sort());
    expect((of('menu').at(-1) as string[])).toContain('Stop gateway');
    expect(await probeGatewayPort(port)).toEqual({ kind: 'openclaw', url: `ws://127.0.0.1:${port}` });
  });
});
