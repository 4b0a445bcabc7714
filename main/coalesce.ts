/**
 * `work` run once on a later turn of the event loop however often it is asked for before then: a burst of
 * changes redraws once, after the code that made them has finished.
 */
export function coalesce(
  work: () => void,
  schedule: (run: () => void) => void = (run) => void setImmediate(run),
): () => void {
  let scheduled = false;
  return () => {
    if (scheduled) return;
    scheduled = true;
    schedule(() => {
      scheduled = false;
      work();
    });
  };
}
