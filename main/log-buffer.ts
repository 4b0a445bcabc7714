import { redactSecrets } from './display-hardening';
import type { LogEntryView } from '../common/ipc-contract';

/** Recent app and gateway log lines for the dashboard and the support bundle; secrets redacted on the way in. */
export class LogBuffer {
  private readonly entries: LogEntryView[] = [];

  constructor(private readonly capacity = 2000) {}

  add(
    source: LogEntryView['source'],
    level: LogEntryView['level'],
    message: string,
    fields?: Record<string, unknown>,
  ): void {
    const text = fields && Object.keys(fields).length > 0 ? `${message} ${safeJson(fields)}` : message;
    this.entries.push({ ts: Date.now(), level, source, message: redactSecrets(text).text });
    if (this.entries.length > this.capacity) this.entries.splice(0, this.entries.length - this.capacity);
  }

  recent(limit: number): LogEntryView[] {
    return this.entries.slice(-limit);
  }
}

const SECRET_FIELD = /token|secret|password|passwd|private|credential|authorization|cookie|signature/i;

function safeJson(fields: Record<string, unknown>): string {
  try {
    return JSON.stringify(fields, (key, value) => (key && SECRET_FIELD.test(key) ? '‹redacted›' : value));
  } catch {
    return '[unserialisable fields]';
  }
}
