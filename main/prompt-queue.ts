/**
 * One prompt at a time, in order: the primitive under the approval prompts (approval-queue.ts) and the pairing
 * prompts (pairing-prompts.ts). `show` is called for the head and owns what an answer means; it takes the item out
 * of the queue when the item has ended (while it still runs, the next prompt waits). Removing the item on screen
 * aborts its signal, so its dialog closes and a late answer can be told apart (`signal.aborted`).
 */
export class PromptQueue<T> {
  private readonly items: T[] = [];
  private showing?: { item: T; abort: AbortController };
  private pumping = false;

  constructor(private readonly show: (item: T, signal: AbortSignal) => Promise<void>) {}

  /** Queued items, head first (the one on screen included). */
  list(): readonly T[] {
    return this.items;
  }

  head(): T | undefined {
    return this.items[0];
  }

  /** The item whose prompt is on screen. */
  current(): T | undefined {
    return this.showing?.item;
  }

  has(item: T): boolean {
    return this.items.includes(item);
  }

  /**
   * Queues at the end, or at the front (shown once the prompt on screen has ended). The head's prompt starts in a
   * microtask, so the caller can first tell the tray and dashboard about the new item.
   */
  add(item: T, where: 'back' | 'front' = 'back'): void {
    if (where === 'front') this.items.unshift(item);
    else this.items.push(item);
    queueMicrotask(() => void this.pump());
  }

  /** Takes an item out; if its prompt is on screen, its signal aborts. False when it was not queued. */
  remove(item: T): boolean {
    const index = this.items.indexOf(item);
    if (index < 0) return false;
    this.items.splice(index, 1);
    if (this.showing?.item === item) this.showing.abort.abort();
    return true;
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      for (let item = this.items[0]; item !== undefined; item = this.items[0]) {
        const showing = { item, abort: new AbortController() };
        this.showing = showing;
        try {
          await this.show(item, showing.abort.signal);
        } finally {
          this.showing = undefined;
        }
        // `show` left it queued without ending it (another item was put in front): it is shown again later.
      }
    } finally {
      this.pumping = false;
    }
  }
}
