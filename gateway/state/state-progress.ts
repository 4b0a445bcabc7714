/**
 * Progress and cancellation for `state migrate`: what the CLI's progress bar, its `--json` lines and the dashboard
 * show (files, bytes, rate, ETA), and the cancel that stops the migration between two files and rolls it back.
 */

export type MigrationPhase = 'staging' | 'backup' | 'verifying' | 'committing' | 'done';
export type MigrationStrategy = 'same-volume' | 'cross-volume';

export interface MigrationProgress {
  phase: MigrationPhase;
  strategy: MigrationStrategy;
  /** Regular files placed in this phase so far, and how many it places in all. */
  files: number;
  totalFiles: number;
  /** Apparent bytes of those files (a file placed by hard link counts whole: it is in place). */
  bytes: number;
  totalBytes: number;
  elapsedMs: number;
  /** Over the phase so far; 0 until something was placed. */
  bytesPerSecond: number;
  /** Time left in this phase at the current rate; null when there is no rate yet. */
  etaMs: number | null;
}

export class MigrationCancelledError extends Error {
  readonly code = 'MIGRATION_CANCELLED';
  constructor(detail = 'nothing was changed') {
    super(`the migration was cancelled; ${detail}`);
  }
}

/** Emits at most every `intervalMs` within a phase, and always at a phase's start and end. */
export class ProgressTracker {
  private phaseName: MigrationPhase = 'staging';
  private files = 0;
  private bytes = 0;
  private totalFiles = 0;
  private totalBytes = 0;
  private phaseStarted: number;
  private lastEmit = 0;

  constructor(
    readonly strategy: MigrationStrategy,
    private readonly emit: ((p: MigrationProgress) => void) | undefined,
    private readonly signal: AbortSignal | undefined,
    private readonly intervalMs = 100,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.phaseStarted = this.now();
  }

  /** Throws MigrationCancelledError once the signal is aborted (called between files and between steps). */
  check(): void {
    if (this.signal?.aborted) throw new MigrationCancelledError();
  }

  start(phase: MigrationPhase, totalFiles = 0, totalBytes = 0): void {
    this.phaseName = phase;
    this.files = 0;
    this.bytes = 0;
    this.totalFiles = totalFiles;
    this.totalBytes = totalBytes;
    this.phaseStarted = this.now();
    this.send(true);
  }

  file(bytes: number): void {
    this.files++;
    this.bytes += bytes;
    this.send(false);
  }

  /** Many files placed at once (a whole directory moved by one rename). */
  filesAtOnce(count: number, bytes: number): void {
    this.files += count;
    this.bytes += bytes;
    this.send(false);
  }

  /** The phase's last figures (so a bar ends at its true count). */
  finish(): void {
    this.send(true);
  }

  snapshot(): MigrationProgress {
    const elapsedMs = this.now() - this.phaseStarted;
    const bytesPerSecond = elapsedMs > 0 && this.bytes > 0 ? (this.bytes / elapsedMs) * 1000 : 0;
    const left = Math.max(0, this.totalBytes - this.bytes);
    return {
      phase: this.phaseName,
      strategy: this.strategy,
      files: this.files,
      totalFiles: this.totalFiles,
      bytes: this.bytes,
      totalBytes: this.totalBytes,
      elapsedMs: Math.round(elapsedMs),
      bytesPerSecond: Math.round(bytesPerSecond),
      etaMs: bytesPerSecond > 0 ? Math.round((left / bytesPerSecond) * 1000) : left === 0 ? 0 : null,
    };
  }

  private send(force: boolean): void {
    if (!this.emit) return;
    const t = this.now();
    if (!force && t - this.lastEmit < this.intervalMs) return;
    this.lastEmit = t;
    this.emit(this.snapshot());
  }
}

/** `1.5 GiB`, `512 KiB`, `10 B`. */
export function formatBytesShort(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

function formatDuration(ms: number | null): string {
  if (ms === null) return '--';
  const s = Math.ceil(ms / 1000);
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

/** One line of a terminal progress bar: phase, bar, files, bytes, rate, ETA. */
export function formatProgressLine(p: MigrationProgress, width = 24): string {
  const fraction = p.totalBytes > 0 ? p.bytes / p.totalBytes : p.totalFiles > 0 ? p.files / p.totalFiles : 1;
  const filled = Math.max(0, Math.min(width, Math.round(fraction * width)));
  const bar = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
  const pct = `${Math.floor(Math.min(1, fraction) * 100)}%`.padStart(4);
  return `${p.phase.padEnd(10)} ${bar} ${pct}  ${p.files}/${p.totalFiles} files  ${formatBytesShort(p.bytes)}/${formatBytesShort(p.totalBytes)}  ${formatBytesShort(p.bytesPerSecond)}/s  ETA ${formatDuration(p.etaMs)}`;
}
