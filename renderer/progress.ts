import { h } from './dom';
import { locale } from './i18n';

/**
 * A long task's progress: a native <progress> (what screen readers announce), the percentage, one line of detail
 * and, while the task can still be undone, its Cancel. Used by "Install OpenClaw" and the state migration.
 */
export interface ProgressBarOptions {
  /** Ids the tests and the focus restore use: `<id>`, `<id>-bar`, `<id>-cancel`. */
  id: string;
  label: string;
  /** 0..1. */
  fraction: number;
  detail: string;
  cancelLabel?: string;
  /** Absent once cancelling would no longer undo anything. */
  onCancel?: () => void;
}

export function progressBar(options: ProgressBarOptions): HTMLElement {
  const fraction = Math.min(1, Math.max(0, Number.isFinite(options.fraction) ? options.fraction : 0));
  const percent = new Intl.NumberFormat(locale(), { style: 'percent', maximumFractionDigits: 0 }).format(fraction);
  const labelId = `${options.id}-label`;
  return h(
    'div',
    { className: 'progress', id: options.id, role: 'group', 'aria-labelledby': labelId },
    h(
      'div',
      { className: 'progress-head' },
      h('span', { id: labelId, className: 'progress-label' }, options.label),
      h('span', { className: 'progress-percent', 'data-testid': `${options.id}-percent` }, percent),
    ),
    h('progress', {
      id: `${options.id}-bar`,
      max: 1,
      value: fraction,
      'aria-labelledby': labelId,
      'aria-valuetext': `${percent}: ${options.detail}`,
    }),
    h('p', { className: 'progress-detail', 'aria-live': 'polite' }, options.detail),
    options.onCancel && options.cancelLabel
      ? h(
          'button',
          { type: 'button', id: `${options.id}-cancel`, onclick: () => options.onCancel?.() },
          options.cancelLabel,
        )
      : null,
  );
}
