import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createExecModules } from '../../gateway/approvals/exec-modules';
import { connectGateway, type GatewaySession } from '../../gateway/client/gateway-client';
import { methodRows, renderTable, tableInDoc } from '../../scripts/method-table';
import { startTestGateway, type TestGateway } from '../helpers/gateway-fixture';

const DOC = path.resolve(__dirname, '..', '..', 'docs', 'protocol.md');

describe('docs/protocol.md method table', () => {
  let gateway: TestGateway | undefined;
  let session: GatewaySession | undefined;
  afterAll(async () => {
    await session?.close();
    await gateway?.dispose();
  });

  it('is exactly what scripts/method-table.ts generates from the modules (run npm run docs:methods)', async () => {
    const doc = readFileSync(DOC, 'utf8');
    expect(tableInDoc(doc)).toBe(renderTable(await methodRows()));
  });

  it('lists every method a gateway with the exec modules registers, and no other', async () => {
    gateway = await startTestGateway({ modules: createExecModules().modules });
    session = await connectGateway({ url: gateway.url, token: 'test-token', scopes: ['operator.admin'] });
    const hello = session.hello as { features: { methods: string[] } };
    const registered = [...hello.features.methods].sort();
    expect((await methodRows()).map((row) => row.name).sort()).toEqual(registered);
  });
});
