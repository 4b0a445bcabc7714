import type net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  MAX_APPROVAL_REQUEST_CHARS,
  MAX_OPEN_APPROVALS,
  startApprovalClient,
  type ApprovalClientHandle,
} from '../../gateway/approvals/approval-client';
import type { ExecApprovalRequestedEvent } from '../../gateway/approvals/approver';
import { waitFor } from '../helpers/cli-io';

/**
 * A hostile gateway (issue 15, "Bad input"): it completes the handshake, then floods the approval client with
 * exec.approval.requested events nobody asked for — hundreds of ids, one too large to review, malformed ones, the
 * same id again — and lists the same flood again on `exec.approval.list`. The client must stay up, keep at most
 * MAX_OPEN_APPROVALS on screen, ask about none twice, and answer nothing on its own.
 */

const event = (id: string, command = `/bin/echo ${id}`) => ({
  id,
  request: { command, commandArgv: command.split(' ') },
  createdAtMs: Date.now(),
  expiresAtMs: Date.now() + 600_000,
});

describe('an approval client facing a flood of fake approval events', () => {
  let server: WebSocketServer;
  let url: string;
  let peer: WebSocket | undefined;
  const resolves: unknown[] = [];
  const floods: unknown[] = [];

  beforeAll(async () => {
    for (let i = 0; i < 500; i++) floods.push(event(`flood-${i}`));
    floods.splice(10, 0, event('oversized', `/bin/echo ${'A'.repeat(MAX_APPROVAL_REQUEST_CHARS)}`));
    // The last has neither a prototype-safe id nor an expiry: it must still wait for the person like any other.
    floods.splice(20, 0, { id: 'no-request' }, { id: 'bad-command', request: { command: 42 } }, null, 'text', {
      id: '__proto__',
      request: { command: '/bin/true' },
    });
    server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    server.on('connection', (ws) => {
      peer = ws;
      ws.send(JSON.stringify({ type: 'event', event: 'connect.challenge', payload: { nonce: 'n', ts: Date.now() } }));
      ws.on('message', (data) => {
        const frame = JSON.parse(data.toString());
        const reply = (payload: unknown) => ws.send(JSON.stringify({ type: 'res', id: frame.id, ok: true, payload }));
        if (frame.method === 'connect')
          reply({
            type: 'hello-ok',
            protocol: 4,
            server: { version: 'hostile' },
            features: { methods: [], events: [] },
          });
        else if (frame.method === 'exec.approval.list') {
          reply(floods);
          for (const e of floods)
            ws.send(JSON.stringify({ type: 'event', event: 'exec.approval.requested', payload: e }));
        } else {
          if (frame.method === 'exec.approval.resolve') resolves.push(frame.params);
          reply({});
        }
      });
    });
    await new Promise((r) => server.once('listening', r));
    url = `ws://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  });
  afterAll(() => new Promise((r) => server.close(r)));

  it('keeps at most 64 open, shows none twice, never the oversized or malformed ones, and decides nothing itself', async () => {
    const presented: string[] = [];
    const open = new Map<string, AbortSignal>();
    const warnings: string[] = [];
    let client: ApprovalClientHandle | undefined;
    try {
      client = await startApprovalClient({
        url,
        token: 't',
        // The person never answers during the flood: every prompt stays open until withdrawn.
        approver: {
          canPresent: () => true,
          present: (e: ExecApprovalRequestedEvent, signal: AbortSignal) => {
            presented.push(e.id);
            open.set(e.id, signal);
            return new Promise((resolve) => signal.addEventListener('abort', () => resolve(null), { once: true }));
          },
        },
        askFallback: () => 'deny',
        promptTimeoutMs: 600_000,
        log: (level, message) => level === 'warn' && warnings.push(message),
      });
      await waitFor(() => presented.length >= MAX_OPEN_APPROVALS, 10_000, 'the prompts');
      // Every event has been read once the server's last frame has: a ping round trip after the flood proves it.
      await client.session()!.request('health', {}, { timeoutMs: 10_000 });
      expect(presented).toHaveLength(MAX_OPEN_APPROVALS);
      expect(new Set(presented).size).toBe(MAX_OPEN_APPROVALS);
      // A request too large to review, or without a command, is never shown; an odd id is just an id.
      expect(presented.filter((id) => !id.startsWith('flood-'))).toEqual(['__proto__']);
      // One warning per burst, not one per ignored event.
      expect(warnings.filter((w) => w.startsWith('ignoring exec approval requests')).length).toBeLessThan(5);
      expect(resolves).toEqual([]);
      expect(client.status().state).toBe('connected');

      // Resolved elsewhere: that prompt is withdrawn, and the ids already ignored are never asked about again.
      peer!.send(JSON.stringify({ type: 'event', event: 'exec.approval.resolved', payload: { id: presented[0] } }));
      await waitFor(() => open.get(presented[0])!.aborted, 10_000, 'the withdrawal');
      for (const e of floods.slice(0, 100))
        peer!.send(JSON.stringify({ type: 'event', event: 'exec.approval.requested', payload: e }));
      peer!.send(JSON.stringify({ type: 'event', event: 'exec.approval.requested', payload: event('fresh') }));
      await waitFor(() => presented.includes('fresh'), 10_000, 'a new request after the withdrawal');
      expect(presented).toHaveLength(MAX_OPEN_APPROVALS + 1);
      expect(resolves).toEqual([]);
    } finally {
      await client?.stop();
    }
  });
});
