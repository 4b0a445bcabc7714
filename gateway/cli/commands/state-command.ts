import path from 'node:path';
import type { ParseArgsConfig } from 'node:util';
import { CliCommand, CliIo, EXIT_FAILURE, EXIT_OK, parseCommandArgs, splitSubcommand, UsageError } from '../cli-io';
import { DeviceIdentityStore } from '../../secrets/device-identity';
import { SecretStoreError } from '../../secrets/secret-errors';
import { openSecretStore } from '../../secrets/secret-store';
import { BackupInvalidError } from '../../state/state-backup';
import { quote } from '../../state/state-doctor';
import { MigrationBlockedError, MigrationPlan, migrateState, restoreBackup } from '../../state/state-migration';
import {
  InvalidProfileError,
  PathEnvironment,
  currentPathEnvironment,
  resolveClawdeskDataDir,
  resolveStateDir,
} from '../../state/state-paths';
import { ScannedDir, StateScan, scanStateDirs } from '../../state/state-scan';
import { TransactionInProgressError, TransactionVerifyError } from '../../state/state-transaction';
import { MigrationCancelledError, MigrationProgress, formatProgressLine } from '../../state/state-progress';

const USAGE = `Usage: clawdesk state <subcommand> [options]

  scan [--json] [--profile <name>]
      List every directory that holds OpenClaw state, what it holds, and who uses it.
  migrate --from <dir> [--to <dir>] [--dry-run] [--backup-dir <dir>] [--max-size <size>] [--json] [--profile <name>]
      Merge <from> into <to> (default: the active state dir), after a backup, leaving a link at <from>.
      Refuses a source another user can change; --max-size (bytes, or with K/M/G/T) raises the 16G limit.
      Shows progress on a terminal (--json: one JSON line per progress report, then the result); Ctrl-C
      cancels and rolls everything back (exit 130).
  restore <backup> [--json]
      Put the directories saved in <backup> back exactly as they were (what is there now is backed up first).
  import-identity <device.json> [--keep-file] [--replace] [--accept-plaintext] [--json] [--profile <name>]
      Move an OpenClaw or macOS-app device identity into Clawdesk's keychain-backed store (same deviceId).
`;

export const stateCommand: CliCommand = async (argv, io) => {
  const split = splitSubcommand(argv, io, USAGE, ['scan', 'migrate', 'restore', 'import-identity'] as const);
  if ('exitCode' in split) return split.exitCode;
  const { sub, rest } = split;
  const pe: PathEnvironment = { ...currentPathEnvironment(), env: io.env };
  try {
    switch (sub) {
      case 'scan':
        return await scanSub(rest, io, pe);
      case 'migrate':
        return await migrateSub(rest, io, pe);
      case 'restore':
        return await restoreSub(rest, io, pe);
      case 'import-identity':
        return await importSub(rest, io, pe);
    }
  } catch (error) {
    if (error instanceof InvalidProfileError) throw new UsageError(error.message);
    throw error;
  }
};

function parse(argv: string[], options: NonNullable<ParseArgsConfig['options']>) {
  return parseCommandArgs({ args: argv, options, strict: true, allowPositionals: true }, USAGE);
}

async function scanSub(argv: string[], io: CliIo, pe: PathEnvironment): Promise<number> {
  const { values, positionals } = parse(argv, { json: { type: 'boolean' }, profile: { type: 'string' } });
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const scan = await scanStateDirs(pe, { profile: values.profile as string | undefined });
  if (values.json) io.stdout(`${JSON.stringify({ version: 1, ...scan }, null, 2)}\n`);
  else io.stdout(formatScan(scan));
  return EXIT_OK;
}

async function migrateSub(argv: string[], io: CliIo, pe: PathEnvironment): Promise<number> {
  const { values, positionals } = parse(argv, {
    from: { type: 'string' },
    to: { type: 'string' },
    'dry-run': { type: 'boolean' },
    'backup-dir': { type: 'string' },
    'max-size': { type: 'string' },
    json: { type: 'boolean' },
    profile: { type: 'string' },
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}" (use --from and --to)`);
  const maxBytes = values['max-size'] === undefined ? undefined : parseSize(values['max-size'] as string);
  if (!values.from) throw new UsageError('--from <dir> is required');
  const json = values.json === true;
  const to =
    (values.to as string | undefined) ??
    resolveStateDir(pe, { profile: values.profile as string | undefined }).stateDir;
  const resolve = (p: string) => path.resolve(pe.cwd, p);
  // Ctrl-C (or SIGTERM) cancels: the migration stops between two files and rolls back.
  const cancel = new AbortController();
  void io.waitForStopSignal().then(() => cancel.abort());
  const bar = json ? undefined : terminalBar();
  const onProgress = json
    ? (p: MigrationProgress) => io.stdout(`${JSON.stringify({ version: 1, type: 'progress', ...p })}\n`)
    : bar?.update;
  try {
    const result = await migrateState({
      onProgress,
      signal: cancel.signal,
      from: resolve(values.from as string),
      to: resolve(to),
      home: pe.osHomedir,
      backupRoot: values['backup-dir'] ? resolve(values['backup-dir'] as string) : undefined,
      dryRun: values['dry-run'] === true,
      maxBytes,
    });
    bar?.end();
    if (json) {
      // JSON lines: progress lines (if any), then this one.
      io.stdout(
        `${JSON.stringify({ version: 1, type: 'result', outcome: result.outcome, backupDir: result.backupDir, recovered: result.recovered, plan: result.plan })}\n`,
      );
      return EXIT_OK;
    }
    const out: string[] = [];
    for (const r of result.recovered) out.push(`Recovered an interrupted migration (${r.outcome}): ${r.journal}`);
    if (result.outcome === 'nothing-to-do') {
      out.push(`Nothing to do: ${result.plan.steps.join('; ')}.`);
    } else {
      out.push(...formatPlan(result.plan));
      if (result.outcome === 'dry-run') out.push('', 'Dry run: nothing was changed.');
      else
        out.push(
          '',
          `Migrated ${result.plan.from} into ${result.plan.to}.`,
          `Backup: ${result.backupDir}`,
          `Undo with: clawdesk state restore ${quote(result.backupDir!)}`,
        );
    }
    io.stdout(`${out.join('\n')}\n`);
    return EXIT_OK;
  } catch (error) {
    bar?.end();
    if (error instanceof MigrationCancelledError) {
      if (json)
        io.stdout(
          `${JSON.stringify({ version: 1, type: 'result', outcome: 'cancelled', code: error.code, error: error.message })}\n`,
        );
      else io.stderr(`clawdesk state migrate: cancelled; everything was rolled back, nothing was changed.\n`);
      return EXIT_CANCELLED;
    }
    if (json) return reportFailure(error, io, json, true);
    return reportFailure(error, io, json);
  }
}

/** Exit status of a migration cancelled by SIGINT (128 + 2, as a shell reports it). */
const EXIT_CANCELLED = 130;

/**
 * The progress bar, redrawn in place on stderr when stderr is a terminal (nothing otherwise: a log should not fill
 * with carriage returns). Each phase ends on its own line.
 */
function terminalBar(): { update: (p: MigrationProgress) => void; end: () => void } | undefined {
  const stream = process.stderr;
  if (!stream.isTTY) return undefined;
  let phase: string | undefined;
  let last = '';
  const width = () => (stream.columns !== undefined && stream.columns > 40 ? stream.columns - 1 : 160);
  return {
    update: (p) => {
      if (phase !== undefined && phase !== p.phase && last) stream.write('\n');
      phase = p.phase;
      if (p.phase === 'done') {
        last = '';
        return;
      }
      last = formatProgressLine(p).slice(0, width());
      stream.write(`\r\x1b[2K${last}`);
    },
    end: () => {
      if (last) stream.write('\n');
      last = '';
    },
  };
}

async function restoreSub(argv: string[], io: CliIo, pe: PathEnvironment): Promise<number> {
  const { values, positionals } = parse(argv, { json: { type: 'boolean' } });
  if (positionals.length !== 1) throw new UsageError('restore needs exactly one backup directory');
  const json = values.json === true;
  try {
    const result = await restoreBackup(path.resolve(pe.cwd, positionals[0]));
    if (json) {
      io.stdout(
        `${JSON.stringify({ version: 1, outcome: 'restored', restored: result.restored, safetyBackupDir: result.safetyBackupDir, warnings: result.warnings }, null, 2)}\n`,
      );
    } else {
      io.stdout(
        [
          `Restored ${result.restored.join(' and ')} from the backup taken ${new Date(result.manifest.createdAtMs).toISOString()}.`,
          `What was there before is saved in ${result.safetyBackupDir}`,
          ...result.warnings.map((w) => `warning: ${w}`),
        ].join('\n') + '\n',
      );
    }
    return EXIT_OK;
  } catch (error) {
    return reportFailure(error, io, json);
  }
}

async function importSub(argv: string[], io: CliIo, pe: PathEnvironment): Promise<number> {
  const { values, positionals } = parse(argv, {
    'keep-file': { type: 'boolean' },
    replace: { type: 'boolean' },
    'accept-plaintext': { type: 'boolean' },
    json: { type: 'boolean' },
    profile: { type: 'string' },
  });
  if (positionals.length !== 1) throw new UsageError('import-identity needs the identity file');
  const json = values.json === true;
  const dir = resolveClawdeskDataDir(pe, { profile: values.profile as string | undefined });
  const store = new DeviceIdentityStore({
    dir,
    openStore: () => openSecretStore({ dir, allowPlaintextFallback: values['accept-plaintext'] === true }),
  });
  try {
    const result = await store.importIdentityFile(path.resolve(pe.cwd, positionals[0]), {
      replaceExisting: values.replace === true,
      removeSource: values['keep-file'] !== true,
    });
    const summary = {
      version: 1,
      outcome: result.alreadyPresent ? 'already-present' : 'imported',
      deviceId: result.identity.deviceId,
      format: result.format,
      deviceIdCorrected: result.deviceIdCorrected,
      sourceRemoved: result.sourceRemoved,
    };
    if (json) io.stdout(`${JSON.stringify(summary, null, 2)}\n`);
    else {
      io.stdout(
        [
          `${result.alreadyPresent ? 'Already in' : 'Imported into'} Clawdesk's secret store: device ${result.identity.deviceId}.`,
          result.deviceIdCorrected
            ? 'Note: the file named another deviceId; the one derived from its key (what gateways check) was kept.'
            : '',
          result.sourceRemoved
            ? `The private key file was removed after the stored copy was verified.`
            : 'The file was kept (--keep-file).',
        ]
          .filter(Boolean)
          .join('\n') + '\n',
      );
    }
    return EXIT_OK;
  } catch (error) {
    return reportFailure(error, io, json);
  }
}

/** `1048576`, `512M`, `16G`, `1.5T` (binary units) → bytes; anything else is a usage error. */
export function parseSize(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([KMGT]i?B?|B)?$/i.exec(text.trim());
  const units: Record<string, number> = { '': 1, B: 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };
  const unit = match ? (match[2] ?? '').toUpperCase().charAt(0) : '';
  const bytes = match ? Math.floor(Number(match[1]) * (units[unit] ?? NaN)) : NaN;
  if (!Number.isFinite(bytes) || bytes <= 0)
    throw new UsageError(`--max-size must be a size such as 20G or 500M, got "${text}"`);
  return bytes;
}

function reportFailure(error: unknown, io: CliIo, json: boolean, oneLine = false): number {
  const known =
    error instanceof MigrationBlockedError ||
    error instanceof TransactionInProgressError ||
    error instanceof TransactionVerifyError ||
    error instanceof BackupInvalidError ||
    error instanceof SecretStoreError ||
    (error instanceof Error && /^identity-/.test(String((error as unknown as { code?: unknown }).code)));
  if (!known) throw error;
  const e = error as Error & { code?: string };
  if (json) {
    const plan = error instanceof MigrationBlockedError ? error.plan : undefined;
    const body = {
      version: 1,
      ...(oneLine ? { type: 'result' } : {}),
      outcome: error instanceof MigrationBlockedError ? 'blocked' : 'failed',
      code: e.code,
      error: e.message,
      ...(plan ? { plan } : {}),
    };
    io.stdout(`${oneLine ? JSON.stringify(body) : JSON.stringify(body, null, 2)}\n`);
  } else if (error instanceof MigrationBlockedError) {
    io.stderr(
      `clawdesk state migrate: nothing was changed.\n${error.plan.blockers.map((b) => `  - ${b}`).join('\n')}\n`,
    );
  } else {
    io.stderr(`clawdesk state: ${e.message}\n`);
  }
  return EXIT_FAILURE;
}

function formatPlan(plan: MigrationPlan): string[] {
  const out = [`Plan: merge ${plan.from} into ${plan.to}`];
  plan.steps.forEach((s, i) => out.push(`  ${i + 1}. ${s}`));
  if (plan.files.length > 0) {
    out.push('Files:');
    for (const f of plan.files) out.push(`  ${f.action.padEnd(11)} ${f.rel}: ${f.detail}`);
  }
  const conflicts = plan.notes.filter((n) => n.kind !== 'info');
  if (conflicts.length > 0) {
    out.push('Conflicts and decisions:');
    for (const n of conflicts) out.push(`  ${n.file}: ${n.message}`);
  }
  for (const w of plan.warnings) out.push(`Warning: ${w}`);
  return out;
}

export function formatScan(scan: StateScan): string {
  const out: string[] = [];
  out.push(`Active state dir: ${scan.active.stateDir} (${scan.active.source})`);
  out.push(`Config: ${scan.active.configPath}`);
  out.push(`Home: ${scan.home}${scan.home !== scan.osHome ? ` (OS home: ${scan.osHome})` : ''}`);
  out.push(`Clawdesk data dir: ${scan.clawdeskDataDir}`);
  for (const d of scan.dirs) {
    out.push('');
    out.push(`${d.path}${d.kind !== 'dir' ? `  [${d.kind}]` : ''}`);
    out.push(`  why: ${d.reasons.join('; ')}`);
    if (d.usedBy.length > 0) out.push(`  used by: ${d.usedBy.join(', ')}`);
    if (d.isLink) out.push(`  link to: ${d.linkTarget ?? '?'}${d.realPath ? ` (resolves to ${d.realPath})` : ''}`);
    if (d.aliasOf) out.push(`  same directory as: ${d.aliasOf}`);
    if (d.error) out.push(`  problem: ${d.error}`);
    for (const item of d.items) out.push(`  ${describeItem(d, item)}`);
    if (d.kind === 'dir' && d.items.length === 0) out.push('  (no OpenClaw state in it)');
    if (d.names && d.names.problems.length > 0) {
      out.push(
        `  names a migration to Windows or a case-insensitive volume refuses (${d.names.problems.length}${d.names.truncated || d.names.problems.length >= 50 ? '+' : ''}):`,
      );
      for (const p of d.names.problems.slice(0, 10))
        out.push(
          `    ${p.rel}${p.collidesWith ? ` / ${p.collidesWith}` : ''}: ${p.reason}${p.appliesHere ? ' [breaks it here too]' : ''}`,
        );
      if (d.names.problems.length > 10) out.push(`    … and ${d.names.problems.length - 10} more (--json lists them)`);
    }
  }
  return `${out.join('\n')}\n`;
}

function describeItem(d: ScannedDir, item: ScannedDir['items'][number]): string {
  const rel = path.relative(d.path, item.path) || item.path;
  const facts = [formatBytes(item.bytes), new Date(item.mtimeMs).toISOString().replace('T', ' ').slice(0, 16)];
  if (item.entries !== undefined) {
    const files = item.item === 'credentials' || item.item === 'agents' || item.item === 'workspace';
    facts.push(
      `${item.entries} ${files ? (item.entries === 1 ? 'file' : 'files') : item.entries === 1 ? 'entry' : 'entries'}`,
    );
  }
  if (item.deviceId) facts.push(`deviceId ${item.deviceId.slice(0, 12)}…`);
  if (item.expiredEntries) facts.push(`${item.expiredEntries} expired`);
  if (item.status !== 'ok') facts.push(`${item.status.toUpperCase()}: ${item.error}`);
  return `${item.item.padEnd(16)} ${rel.padEnd(28)} ${facts.join(', ')}`;
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}
