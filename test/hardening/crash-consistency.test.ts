import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DevicePairingStore } from '../../gateway/pairing/device-pairing-store';
import { ExecApprovalsStore } from '../../gateway/exec/approvals-file';
import { bundleScript, prng, seedFromEnv } from './helpers/harness';

/**
 * kill -9 at random moments while trust state is being written (issue 6, item 5). A child writes in a loop and
 * prints an ack after each awaited write; the parent kills it at a random delay, then checks that every file
 * parses, every acknowledged item survived, and the next start-up needs no manual step. Replay: CRASH_SEED.
 */

const SEED = seedFromEnv('CRASH_SEED');
const WRITER = path.join(__dirname, 'fixtures', 'crash-writer.ts');
const KILLS = { pairing: 120, exec: 100 };
/** A fresh state dir every so many kills keeps the files (and each write) small. */
const KILLS_PER_DIR = 20;
const dirs: string[] = [];

afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

interface Run {
  lines: string[];
  exit: { code: number | null; signal: NodeJS.Signals | null };
}

/** Starts the writer, kills it -9 after `delayMs` (counted from "ready" when `afterReady`), returns its output. */
function runAndKill(script: string, stateDir: string, kind: string, delayMs: number, afterReady: boolean): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, stateDir, kind], { stdio: ['ignore', 'pipe', 'pipe'] });
    let buffer = '';
    let stderr = '';
    const lines: string[] = [];
    let timer: NodeJS.Timeout | undefined;
    const arm = () => (timer ??= setTimeout(() => child.kill('SIGKILL'), delayMs));
    if (!afterReady) arm();
    const safety = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        lines.push(line);
        if (line === 'ready') arm();
      }
    });
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      clearTimeout(safety);
      if (signal !== 'SIGKILL') lines.push(`exited ${code} ${signal} ${stderr.slice(-500)}`);
      resolve({ lines, exit: { code, signal } });
    });
  });
}

function parseAll(stateDir: string): string[] {
  const problems: string[] = [];
  for (const rel of ['devices/pending.json', 'devices/paired.json', 'exec-approvals.json']) {
    const file = path.join(stateDir, rel);
    if (!existsSync(file)) continue;
    try {
      JSON.parse(readFileSync(file, 'utf8'));
    } catch (error) {
      problems.push(`${rel} does not parse: ${(error as Error).message}`);
    }
  }
  for (const sub of ['.', 'devices']) {
    const dir = path.join(stateDir, sub);
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir)) if (name.includes('.corrupt-')) problems.push(`quarantined file ${sub}/${name}`);
  }
  return problems;
}

type DeviceState = { last: 'pending' | 'paired' | 'rotated' | 'revoked'; requestId?: string; token?: string };

async function checkPairing(stateDir: string, acked: Map<string, DeviceState>): Promise<string[]> {
  const problems: string[] = [];
  const store = await DevicePairingStore.open(stateDir);
  problems.push(...store.corruptFiles.map((c) => `start-up found ${c.file} corrupt: ${c.error}`));
  for (const [deviceId, state] of acked) {
    const paired = store.getPaired(deviceId);
    const token = paired?.tokens?.operator;
    switch (state.last) {
      case 'pending':
        // Either still pending, or the (unacknowledged) approval that followed already landed.
        if (!store.getPending(state.requestId!) && !paired) problems.push(`acknowledged pending request ${state.requestId} of ${deviceId.slice(0, 12)} is gone`);
        break;
      case 'paired':
        if (!token) problems.push(`acknowledged pairing of ${deviceId.slice(0, 12)} is gone`);
        else if (token.token !== state.token && token.rotatedAtMs === undefined) problems.push(`token of ${deviceId.slice(0, 12)} changed without a rotation`);
        break;
      case 'rotated':
        if (token?.token !== state.token) problems.push(`acknowledged rotated token of ${deviceId.slice(0, 12)} is gone`);
        break;
      case 'revoked':
        if (!token || token.revokedAtMs === undefined) problems.push(`acknowledged revocation of ${deviceId.slice(0, 12)} was undone`);
        break;
    }
  }
  return problems;
}

async function checkExec(stateDir: string, acked: Set<string>): Promise<string[]> {
  const state = await new ExecApprovalsStore({ stateDir }).read();
  if (acked.size === 0) return [];
  if (!state.exists) return ['exec-approvals.json is gone'];
  const ids = new Set((state.file.agents.main?.allowlist ?? []).map((e) => e.id));
  return [...acked].filter((id) => !ids.has(id)).map((id) => `acknowledged allowlist entry ${id} is gone`);
}

async function crashLoop(kind: 'pairing' | 'exec', kills: number, seed: number): Promise<{ acks: number; failures: string[] }> {
  const script = bundleScript(WRITER);
  const r = prng(seed);
  const failures: string[] = [];
  let acks = 0;
  let stateDir = '';
  const pairingAcks = new Map<string, DeviceState>();
  const execAcks = new Set<string>();
  for (let kill = 0; kill < kills && failures.length === 0; kill++) {
    if (kill % KILLS_PER_DIR === 0) {
      stateDir = await mkdtemp(path.join(os.tmpdir(), `clawdesk-crash-${kind}-`));
      dirs.push(stateDir);
      pairingAcks.clear();
      execAcks.clear();
    }
    // Mostly mid-loop, sometimes during start-up itself.
    const afterReady = r() < 0.85;
    const delayMs = afterReady ? Math.floor(r() * 120) : Math.floor(r() * 80);
    const run = await runAndKill(script, stateDir, kind, delayMs, afterReady);
    for (const line of run.lines) {
      const [word, what, id, value] = line.split(' ');
      if (word === 'corrupt' || word === 'error' || word === 'exited') failures.push(`kill ${kill}: writer said: ${line}`);
      if (word !== 'ack') continue;
      acks++;
      if (what === 'exec') execAcks.add(id!);
      else if (what === 'pending') pairingAcks.set(id!, { last: 'pending', requestId: value });
      else if (what === 'paired' || what === 'rotated') pairingAcks.set(id!, { last: what, token: value });
      else if (what === 'revoked') pairingAcks.set(id!, { last: 'revoked' });
    }
    failures.push(...parseAll(stateDir).map((p) => `kill ${kill}: ${p}`));
    const lost = kind === 'pairing' ? await checkPairing(stateDir, pairingAcks) : await checkExec(stateDir, execAcks);
    failures.push(...lost.map((p) => `kill ${kill} (delay ${delayMs} ms${afterReady ? ' after ready' : ' after spawn'}): ${p}`));
  }
  return { acks, failures };
}

describe('kill -9 while trust state is written', () => {
  it(`pairing, tokens and exec approvals survive ${KILLS.pairing + KILLS.exec} kills (CRASH_SEED=${SEED})`, async () => {
    console.log(`[crash] CRASH_SEED=${SEED}`);
    const [pairing, exec] = await Promise.all([crashLoop('pairing', KILLS.pairing, SEED), crashLoop('exec', KILLS.exec, SEED + 1)]);
    console.log(`[crash] pairing: ${pairing.acks} acknowledged writes over ${KILLS.pairing} kills; exec approvals: ${exec.acks} over ${KILLS.exec} kills`);
    expect(pairing.failures.slice(0, 5), `CRASH_SEED=${SEED}`).toEqual([]);
    expect(exec.failures.slice(0, 5), `CRASH_SEED=${SEED}`).toEqual([]);
    // The kills must have landed mid-work, not only before the first write.
    expect(pairing.acks).toBeGreaterThan(KILLS.pairing);
    expect(exec.acks).toBeGreaterThan(KILLS.exec);
  }, 120_000);
});
