import fs from 'node:fs';
import path from 'node:path';

/**
 * Where a supervised child's stdout and stderr go: a size-capped log file rotated into `<file>.1 … <file>.N`, and a
 * bounded in-memory tail for the tray and for error messages. Output is taken as it arrives (the child never blocks
 * on a full pipe); when the disk cannot keep up, chunks beyond `maxPendingBytes` are dropped and counted instead of
 * queued, so a child that floods its output costs bounded memory and bounded disk.
 */

export interface OutputLogOptions {
  file: string;
  /** Rotate once the current file reaches this size. Default 5 MiB. */
  maxFileBytes?: number;
  /** Rotated files kept (`.1` newest). Default 3. */
  keepFiles?: number;
  /** In-memory tail size. Default 64 KiB. */
  tailBytes?: number;
  /** Bytes allowed to wait for the disk before new output is dropped. Default 1 MiB. */
  maxPendingBytes?: number;
}

export interface OutputLogStats {
  /** Bytes received from the child. */
  receivedBytes: number;
  /** Bytes written to the log files. */
  writtenBytes: number;
  /** Bytes dropped because the disk could not keep up. */
  droppedBytes: number;
  rotations: number;
  /** The last write error, if any (logging then continues in memory only). */
  error?: string;
}

export class OutputLog {
  readonly file: string;
  private readonly maxFileBytes: number;
  private readonly keepFiles: number;
  private readonly tailBytes: number;
  private readonly maxPendingBytes: number;
  private tailChunks: Buffer[] = [];
  private tailSize = 0;
  private fd: number | undefined;
  private fileSize = 0;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private writing = false;
  private droppedSinceNote = 0;
  private closed = false;
  private drainWaiters: Array<() => void> = [];
  readonly stats: OutputLogStats = { receivedBytes: 0, writtenBytes: 0, droppedBytes: 0, rotations: 0 };

  constructor(options: OutputLogOptions) {
    this.file = options.file;
    this.maxFileBytes = options.maxFileBytes ?? 5 * 1024 * 1024;
    this.keepFiles = Math.max(1, options.keepFiles ?? 3);
    this.tailBytes = options.tailBytes ?? 64 * 1024;
    this.maxPendingBytes = options.maxPendingBytes ?? 1024 * 1024;
    try {
      fs.mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
      this.fd = fs.openSync(this.file, 'a', 0o600);
      this.fileSize = fs.fstatSync(this.fd).size;
    } catch (error) {
      this.stats.error = (error as Error).message;
    }
  }

  /** A line from the supervisor itself (state changes), marked so it is told apart from the child's output. */
  note(text: string): void {
    this.write(Buffer.from(`[clawdesk ${new Date().toISOString()}] ${text}\n`, 'utf8'), false);
  }

  /** Output from the child. */
  append(chunk: Buffer | string): void {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    this.stats.receivedBytes += buffer.length;
    this.write(buffer, true);
  }

  private write(buffer: Buffer, fromChild: boolean): void {
    if (this.closed) return;
    this.pushTail(buffer);
    if (this.fd === undefined) return;
    if (fromChild && this.pendingBytes + buffer.length > this.maxPendingBytes) {
      this.stats.droppedBytes += buffer.length;
      this.droppedSinceNote += buffer.length;
      return;
    }
    if (this.droppedSinceNote > 0) {
      const note = Buffer.from(
        `\n[clawdesk] ${this.droppedSinceNote} bytes of output dropped (the log could not keep up)\n`,
        'utf8',
      );
      this.droppedSinceNote = 0;
      this.pending.push(note);
      this.pendingBytes += note.length;
    }
    this.pending.push(buffer);
    this.pendingBytes += buffer.length;
    this.flush();
  }

  private pushTail(buffer: Buffer): void {
    const piece = buffer.length > this.tailBytes ? buffer.subarray(buffer.length - this.tailBytes) : buffer;
    // Copy: a subarray would keep the child's whole chunk alive.
    this.tailChunks.push(Buffer.from(piece));
    this.tailSize += piece.length;
    while (this.tailSize > this.tailBytes && this.tailChunks.length > 1) {
      const first = this.tailChunks[0];
      const excess = this.tailSize - this.tailBytes;
      if (first.length <= excess) {
        this.tailChunks.shift();
        this.tailSize -= first.length;
      } else {
        this.tailChunks[0] = Buffer.from(first.subarray(excess));
        this.tailSize -= excess;
      }
    }
  }

  private flush(): void {
    if (this.writing || this.fd === undefined) return;
    const chunk = this.pending.shift();
    if (!chunk) {
      for (const wake of this.drainWaiters.splice(0)) wake();
      return;
    }
    this.writing = true;
    fs.write(this.fd, chunk, 0, chunk.length, null, (error, written) => {
      this.writing = false;
      this.pendingBytes -= chunk.length;
      if (error) {
        this.stats.error = error.message;
      } else {
        this.stats.writtenBytes += written;
        this.fileSize += written;
        if (this.fileSize >= this.maxFileBytes) this.rotate();
      }
      this.flush();
    });
  }

  private rotate(): void {
    if (this.fd === undefined) return;
    try {
      fs.closeSync(this.fd);
      for (let i = this.keepFiles - 1; i >= 1; i--) {
        const from = `${this.file}.${i}`;
        if (fs.existsSync(from)) fs.renameSync(from, `${this.file}.${i + 1}`);
      }
      fs.rmSync(`${this.file}.${this.keepFiles}`, { force: true });
      fs.renameSync(this.file, `${this.file}.1`);
      if (this.keepFiles === 1) fs.rmSync(`${this.file}.1`, { force: true });
      this.fd = fs.openSync(this.file, 'a', 0o600);
      this.fileSize = 0;
      this.stats.rotations++;
    } catch (error) {
      this.stats.error = (error as Error).message;
      this.fd = undefined;
    }
  }

  /** The last `tailBytes` of output (and notes), as text. */
  tail(maxBytes = this.tailBytes): string {
    const all = Buffer.concat(this.tailChunks);
    return all.subarray(Math.max(0, all.length - maxBytes)).toString('utf8');
  }

  /** Bytes currently held in memory (tail plus what waits for the disk). */
  heldBytes(): number {
    return this.tailSize + this.pendingBytes;
  }

  /** Resolves once everything accepted so far is on disk. */
  drain(): Promise<void> {
    if (!this.writing && this.pending.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  async close(): Promise<void> {
    await this.drain();
    this.closed = true;
    if (this.fd !== undefined) {
      try {
        fs.closeSync(this.fd);
      } catch {
        // already closed
      }
      this.fd = undefined;
    }
  }
}
