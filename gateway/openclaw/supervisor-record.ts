import fs from 'node:fs';
import path from 'node:path';
import { writeJsonAtomic } from '../fs/atomic-file';
import type { SupervisorStatus } from './supervisor';

/**
 * What a running `clawdesk openclaw start` tells other processes (`clawdesk openclaw stop|status`): its own PID,
 * the child's, and the last status. One file per Clawdesk data dir; written on every state change, removed on exit.
 */
export interface SupervisorRecord {
  supervisorPid: number;
  childPid?: number;
  startedAt: number;
  install: { entry: string; nodeBin: string; openclawVersion: string; nodeVersion: string };
  status: SupervisorStatus;
}

export function supervisorRecordPath(dataDir: string): string {
  return path.join(dataDir, 'openclaw-supervisor.json');
}

export function supervisorLogPath(dataDir: string): string {
  return path.join(dataDir, 'logs', 'openclaw-gateway.log');
}

export async function writeSupervisorRecord(dataDir: string, record: SupervisorRecord): Promise<void> {
  await writeJsonAtomic(supervisorRecordPath(dataDir), record);
}

export function removeSupervisorRecord(dataDir: string, supervisorPid: number): void {
  const file = supervisorRecordPath(dataDir);
  const current = readSupervisorRecord(dataDir);
  if (current && current.supervisorPid !== supervisorPid) return;
  fs.rmSync(file, { force: true });
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The record, or undefined when there is none or it is unreadable. */
export function readSupervisorRecord(dataDir: string): SupervisorRecord | undefined {
  try {
    const value = JSON.parse(fs.readFileSync(supervisorRecordPath(dataDir), 'utf8'));
    return typeof value?.supervisorPid === 'number' && value.status ? (value as SupervisorRecord) : undefined;
  } catch {
    return undefined;
  }
}

/** The record of a supervisor that is still alive (a stale one, from a killed supervisor, reads as none). */
export function liveSupervisorRecord(dataDir: string): SupervisorRecord | undefined {
  const record = readSupervisorRecord(dataDir);
  return record && processAlive(record.supervisorPid) ? record : undefined;
}

/**
 * `clawdesk openclaw stop` on Windows: there is no SIGTERM to send (process.kill there terminates at once, which
 * would leave OpenClaw's child running unsupervised), so stop writes this request and the running `start` polls
 * for it, then stops its child and exits as on a signal.
 */
export function stopRequestPath(dataDir: string): string {
  return path.join(dataDir, 'openclaw-supervisor.stop');
}

export async function requestSupervisorStop(dataDir: string, supervisorPid: number): Promise<void> {
  await writeJsonAtomic(stopRequestPath(dataDir), { supervisorPid, requestedAt: Date.now() });
}

/** Calls `onStop` once a stop request names `supervisorPid`; returns the cancel function. */
export function watchStopRequest(
  dataDir: string,
  supervisorPid: number,
  onStop: () => void,
  everyMs = 500,
): () => void {
  const file = stopRequestPath(dataDir);
  const check = () => {
    let named: unknown;
    try {
      named = JSON.parse(fs.readFileSync(file, 'utf8'))?.supervisorPid;
    } catch {
      return;
    }
    if (named !== supervisorPid) {
      // Left by a supervisor that is gone: not ours to act on, and it must not stop the next one.
      if (typeof named !== 'number' || !processAlive(named)) fs.rmSync(file, { force: true });
      return;
    }
    fs.rmSync(file, { force: true });
    clearInterval(timer);
    onStop();
  };
  const timer = setInterval(check, everyMs);
  timer.unref();
  check();
  return () => clearInterval(timer);
}
