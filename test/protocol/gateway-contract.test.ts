import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { connectGateway, GatewayClientError } from '../../gateway/client/gateway-client';
import { createExecModules } from '../../gateway/approvals/exec-modules';
import { createDevicePairingModule } from '../../gateway/pairing/device-pairing-module';
import { DevicePairingStore } from '../../gateway/pairing/device-pairing-store';
import { GATEWAY_CONTRACT, isContractMethod } from '../../gateway/protocol/gateway-contract';
import { AGENT_RUNTIME_METHODS, createCoreModule } from '../../gateway/server/core-module';
import type { GatewayModule, MethodDefinition } from '../../gateway/server/gateway-module';
import { startTestGateway, type TestGateway } from '../helpers/gateway-fixture';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** Every method Clawdesk's gateway serves, from the same factories the server and the exec composition use. */
async function servedMethods(): Promise<MethodDefinition[]> {
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'clawdesk-contract-'));
  dirs.push(stateDir);
  const core = createCoreModule({ stateDir, authMode: 'token' });
  core.stop();
  const exec = createExecModules({ home: path.join(stateDir, 'home') });
  const modules: GatewayModule[] = [
    core,
    createDevicePairingModule(await DevicePairingStore.open(stateDir)),
    ...exec.modules,
  ];
  return modules.flatMap((module) => module.methods());
}

describe('the typed gateway contract (gateway/protocol/gateway-contract.ts)', () => {
  it('covers every method the gateway serves, with the access, params and result it declares', async () => {
    const served = await servedMethods();
    const refusals = new Set<string>(AGENT_RUNTIME_METHODS);
    const outside = served.filter((m) => !isContractMethod(m.name) && !refusals.has(m.name)).map((m) => m.name);
    expect(outside, 'served methods missing from GATEWAY_CONTRACT').toEqual([]);
    for (const method of served) {
      if (!isContractMethod(method.name)) continue;
      const contract = GATEWAY_CONTRACT[method.name];
      expect(method.access, `${method.name} access`).toEqual(contract.access);
      expect(method.params, `${method.name} params`).toBe(contract.params);
      expect(method.result, `${method.name} result`).toBe(contract.result);
    }
    const servedNames = new Set(served.map((m) => m.name));
    const unserved = Object.keys(GATEWAY_CONTRACT).filter((name) => !servedNames.has(name));
    expect(unserved, 'contract methods no module serves').toEqual([]);
  });

  it('the agent-runtime refusals stay outside the contract: they answer only with what to run instead', () => {
    for (const name of AGENT_RUNTIME_METHODS) expect(isContractMethod(name), name).toBe(false);
  });
});

describe('answers are checked against the contract when checkResults is on', () => {
  let gw: TestGateway | undefined;
  afterAll(async () => {
    await gw?.dispose();
  });

  it('a handler answering outside its result schema is refused with the breach named, and logged', async () => {
    const logged: string[] = [];
    // A stand-in module whose list answer breaks the contract: what a handler drifting from its schema would send.
    const drifting: GatewayModule = {
      name: 'drifting',
      events: () => [],
      methods: () => [
        {
          name: 'exec.approval.list',
          access: GATEWAY_CONTRACT['exec.approval.list'].access,
          params: GATEWAY_CONTRACT['exec.approval.list'].params,
          result: GATEWAY_CONTRACT['exec.approval.list'].result,
          handler: () => [{ id: 'a', createdAtMs: 'yesterday' }],
        },
        {
          name: 'clawdesk.test.free-form',
          access: { kind: 'any' },
          params: z.looseObject({}),
          handler: () => ({ anything: true }),
        },
      ],
    };
    gw = await startTestGateway({
      modules: [drifting],
      checkResults: true,
      log: (level, message) => logged.push(`${level}: ${message}`),
    });
    const session = await connectGateway({ url: gw.url, token: 'test-token', scopes: ['operator.admin'] });
    try {
      const error = await session.request('exec.approval.list', {}).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(GatewayClientError);
      expect((error as GatewayClientError).error?.code).toBe('UNAVAILABLE');
      expect((error as GatewayClientError).message).toMatch(
        /exec\.approval\.list answered outside its contract: .*request/,
      );
      expect(logged.some((line) => line.startsWith('error: exec.approval.list answered outside its contract'))).toBe(
        true,
      );
      // A method without a result schema is answered as it is.
      expect(await session.request('clawdesk.test.free-form', {})).toEqual({ anything: true });
    } finally {
      await session.close();
    }
  });
});
