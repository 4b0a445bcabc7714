/**
 * Problems the person should know about that are not an approval or a pairing: a settings file that was damaged
 * and set aside, notifications that the OS refuses, a tray host that went away. Each is one line of what happened
 * and one of what to do; the dashboard lists them under "Needs you" and the tray counts them, until the person
 * dismisses one or its cause clears. Nothing here ever decides an approval.
 */
export interface AppNotice {
  /** Stable per cause ("settings:appearance", "notifications"): a repeat replaces, it does not pile up. */
  id: string;
  severity: 'warning' | 'error';
  message: string;
  fix: string;
  atMs: number;
}

/** What a feature module is given: it reports its own causes and clears them when they go away. */
export type NoticeSink = Pick<AppNotices, 'report' | 'clear'>;

/** A settings file did not parse and was moved aside (readJsonFile's quarantine): defaults apply until chosen again. */
export function damagedSettings(
  name: string,
  movedTo: string | undefined,
  consequence: string,
): Omit<AppNotice, 'atMs'> {
  return {
    id: `settings:${name}`,
    severity: 'warning',
    message: `Clawdesk's ${name} settings were damaged${movedTo ? ` and moved to ${movedTo}` : ''}.`,
    fix: consequence,
  };
}

/** Where to turn an app's notifications on, per OS. */
export function notificationSettingsHint(platform: NodeJS.Platform): string {
  if (platform === 'darwin')
    return 'Turn them on in System Settings › Notifications › Clawdesk, with the "Alerts" style.';
  if (platform === 'win32')
    return 'Turn them on in Settings › System › Notifications › Clawdesk, and check that Do not disturb is off.';
  return "Check that your desktop's notification service runs and that Clawdesk is not muted in its settings.";
}

/** A runaway source cannot grow the list without bound. */
export const MAX_NOTICES = 20;

export class AppNotices {
  private readonly notices = new Map<string, AppNotice>();

  constructor(
    private readonly options: {
      onChange(): void;
      now?: () => number;
    },
  ) {}

  report(notice: Omit<AppNotice, 'atMs'>): void {
    const existing = this.notices.get(notice.id);
    if (existing && existing.message === notice.message && existing.fix === notice.fix) return;
    this.notices.delete(notice.id);
    if (this.notices.size >= MAX_NOTICES) this.notices.delete(this.notices.keys().next().value!);
    this.notices.set(notice.id, { ...notice, atMs: (this.options.now ?? Date.now)() });
    this.options.onChange();
  }

  /** The cause went away, or the person dismissed it. */
  clear(id: string): boolean {
    if (!this.notices.delete(id)) return false;
    this.options.onChange();
    return true;
  }

  /** Oldest first. */
  list(): AppNotice[] {
    return [...this.notices.values()];
  }
}
