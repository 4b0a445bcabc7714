import type { PresentBlocker } from './approval-queue';
import type { PowerMonitorLike, ScreenLike } from './electron-facades';

/** Whether a prompt can be put in front of a person right now: a display exists and the session is unlocked. */
export class PresenceMonitor {
  private locked = false;
  private suspended = false;

  constructor(
    private readonly powerMonitor: PowerMonitorLike,
    private readonly screen: ScreenLike,
  ) {
    powerMonitor.on('lock-screen', () => (this.locked = true));
    powerMonitor.on('unlock-screen', () => (this.locked = false));
    powerMonitor.on('suspend', () => (this.suspended = true));
    powerMonitor.on('resume', () => (this.suspended = false));
  }

  blocker(): PresentBlocker | undefined {
    if (this.suspended) return 'suspended';
    if (this.locked || this.powerMonitor.getSystemIdleState(1) === 'locked') return 'locked';
    if (this.screen.getAllDisplays().length === 0) return 'no-display';
    return undefined;
  }
}
