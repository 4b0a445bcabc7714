import { describe, expect, it } from 'vitest';
import { PromptQueue } from '../../main/prompt-queue';
import { waitFor } from './fakes';

/** A queue whose prompts stay open until the test answers them. */
function setup() {
  const open: Array<{ item: string; signal: AbortSignal; answer(): void }> = [];
  const queue: PromptQueue<string> = new PromptQueue<string>(
    (item, signal) =>
      new Promise<void>((resolve) => {
        const done = () => resolve();
        signal.addEventListener('abort', done);
        open.push({
          item,
          signal,
          answer: () => {
            queue.remove(item);
            done();
          },
        });
      }),
  );
  return { queue, open };
}

describe('PromptQueue', () => {
  it('shows one prompt at a time, in order, and only after the caller has seen the item queued', async () => {
    const { queue, open } = setup();
    queue.add('a');
    queue.add('b');
    expect(queue.list()).toEqual(['a', 'b']);
    expect(open).toEqual([]);
    await waitFor(() => open.length === 1);
    expect(queue.current()).toBe('a');
    open[0].answer();
    await waitFor(() => open.length === 2);
    expect(open[1].item).toBe('b');
    expect(queue.current()).toBe('b');
    open[1].answer();
    await waitFor(() => queue.current() === undefined);
    expect(queue.list()).toEqual([]);
  });

  it('removing the item on screen aborts its prompt; removing a queued one means it is never shown', async () => {
    const { queue, open } = setup();
    queue.add('a');
    queue.add('b');
    queue.add('c');
    await waitFor(() => open.length === 1);
    expect(queue.remove('b')).toBe(true);
    expect(queue.remove('b')).toBe(false);
    expect(queue.remove('a')).toBe(true);
    expect(open[0].signal.aborted).toBe(true);
    await waitFor(() => open.length === 2);
    expect(open.map((p) => p.item)).toEqual(['a', 'c']);
  });

  it('an item put in front waits for the prompt on screen, then comes first', async () => {
    const { queue, open } = setup();
    queue.add('a');
    queue.add('b');
    await waitFor(() => open.length === 1);
    queue.add('urgent', 'front');
    expect(queue.head()).toBe('urgent');
    expect(queue.current()).toBe('a');
    expect(open[0].signal.aborted).toBe(false);
    open[0].answer();
    await waitFor(() => open.length === 2);
    expect(open[1].item).toBe('urgent');
    open[1].answer();
    await waitFor(() => open.length === 3);
    expect(open[2].item).toBe('b');
  });
});
