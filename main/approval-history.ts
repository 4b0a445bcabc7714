import { appendFile, readFile } from 'node:fs/promises';
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { hardenForDisplay, redactSecrets } from './display-hardening';
import type { ApprovalHistoryEntry, ExportFile, HistoryQuery } from '../common/ipc-contract';

/** Longest command kept in the audit log; longer ones (denied as unreviewable) are kept as a labelled excerpt. */
const MAX_RECORDED_COMMAND = 4000;

export function recordableCommand(raw: string): string {
  const excerpt =
    raw.length > MAX_RECORDED_COMMAND ? `${raw.slice(0, 200)}… [${raw.length} characters, not shown]` : raw;
  return hardenForDisplay(redactSecrets(excerpt).text).text;
}

/**
 * The approval audit log: one JSON line per ended request, appended (never rewritten), 0600. Commands are stored
 * already redacted and escaped, so the log and its exports carry no secrets.
 */
export class ApprovalHistory {
  private entries: ApprovalHistoryEntry[] = [];

  constructor(private readonly file: string) {}

  async load(): Promise<{ skipped: number }> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { skipped: 0 };
      throw error;
    }
    let skipped = 0;
    this.entries = [];
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      try {
        const entry = JSON.parse(line) as ApprovalHistoryEntry;
        if (typeof entry.id === 'string' && typeof entry.command === 'string') this.entries.push(entry);
        else skipped++;
      } catch {
        // A torn last line after a crash: skip it, keep the rest.
        skipped++;
      }
    }
    return { skipped };
  }

  async record(entry: ApprovalHistoryEntry): Promise<void> {
    const clean: ApprovalHistoryEntry = { ...entry, command: recordableCommand(entry.command) };
    this.entries.push(clean);
    mkdirSync(path.dirname(this.file), { recursive: true });
    const fresh = !existsSync(this.file);
    await appendFile(this.file, `${JSON.stringify(clean)}\n`, { mode: 0o600 });
    if (fresh) chmodSync(this.file, 0o600);
  }

  /** Newest first; `text` matches command, directory, agent, host, node or who decided (case-insensitive). */
  query(query: HistoryQuery = {}): ApprovalHistoryEntry[] {
    const needle = query.text?.trim().toLowerCase();
    const out: ApprovalHistoryEntry[] = [];
    for (let i = this.entries.length - 1; i >= 0 && out.length < (query.limit ?? 500); i--) {
      const e = this.entries[i];
      if (query.decision && e.decision !== query.decision) continue;
      if (
        needle &&
        ![e.command, e.cwd, e.agentId, e.host, e.nodeId, e.decidedBy, e.gateway, e.id].some((v) =>
          v?.toLowerCase().includes(needle),
        )
      )
        continue;
      out.push(e);
    }
    return out;
  }

  export(format: 'json' | 'csv', nowMs = Date.now()): ExportFile {
    const stamp = new Date(nowMs).toISOString().replace(/[:.]/g, '-');
    const all = this.query({ limit: Number.MAX_SAFE_INTEGER }).reverse();
    if (format === 'json') {
      return {
        fileName: `clawdesk-approvals-${stamp}.json`,
        mimeType: 'application/json',
        content: `${JSON.stringify(all, null, 2)}\n`,
      };
    }
    const columns: Array<keyof ApprovalHistoryEntry> = [
      'requestedAtMs',
      'resolvedAtMs',
      'id',
      'decision',
      'decidedBy',
      'command',
      'cwd',
      'agentId',
      'host',
      'nodeId',
      'gateway',
    ];
    const rows = [columns.join(','), ...all.map((e) => columns.map((c) => csvCell(e[c])).join(','))];
    return { fileName: `clawdesk-approvals-${stamp}.csv`, mimeType: 'text/csv', content: `${rows.join('\r\n')}\r\n` };
  }
}

/** RFC 4180 quoting, and spreadsheet formula injection neutralised with a leading apostrophe. */
export function csvCell(value: unknown): string {
  if (value === undefined || value === null) return '';
  let text = String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) || text !== text.trim() ? `"${text.replace(/"/g, '""')}"` : text;
}
