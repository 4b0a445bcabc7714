/**
 * Charts drawn as inline SVG (no charting library: two chart shapes do not justify one). Colours come from CSS
 * custom properties, so both themes restyle them; each chart is an image with a one-sentence summary for screen
 * readers, a visible legend, and the same numbers as a data table beside it.
 */
import { h } from './dom';
import { t } from './i18n';

const SVG = 'http://www.w3.org/2000/svg';

function svg(tag: string, attrs: Record<string, string | number>, ...children: Array<Node | string>): SVGElement {
  const el = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, String(value));
  for (const child of children) el.append(child);
  return el;
}

export interface Series {
  id: string;
  label: string;
}

export interface StackedColumn {
  label: string;
  /** Shown under the column only when set (every few columns). */
  axisLabel?: string;
  values: Record<string, number>;
}

function dataTable(caption: string, head: string[], rows: Array<Array<string | number>>): HTMLElement {
  return h(
    'details',
    { className: 'chart-data' },
    h('summary', {}, t('activity.showNumbers')),
    h(
      'table',
      {},
      h('caption', {}, caption),
      h('thead', {}, h('tr', {}, ...head.map((x) => h('th', { scope: 'col' }, x)))),
      h(
        'tbody',
        {},
        ...rows.map(([first, ...rest]) =>
          h('tr', {}, h('th', { scope: 'row' }, first), ...rest.map((c) => h('td', {}, c))),
        ),
      ),
    ),
  );
}

function legend(series: readonly Series[]): HTMLElement {
  return h(
    'ul',
    { className: 'legend' },
    ...series.map((s) =>
      h('li', {}, h('span', { className: `swatch series-${s.id}`, 'aria-hidden': 'true' }), s.label),
    ),
  );
}

export function stackedColumns(opts: {
  id: string;
  title: string;
  summary: string;
  firstColumn: string;
  series: readonly Series[];
  columns: readonly StackedColumn[];
}): HTMLElement {
  const width = 640;
  const height = 180;
  const left = 32;
  const bottom = 22;
  const top = 8;
  const max = Math.max(1, ...opts.columns.map((c) => opts.series.reduce((sum, s) => sum + (c.values[s.id] ?? 0), 0)));
  const plotHeight = height - top - bottom;
  const step = (width - left) / opts.columns.length;
  const barWidth = Math.max(2, step * 0.7);
  const chart = svg(
    'svg',
    {
      viewBox: `0 0 ${width} ${height}`,
      role: 'img',
      'aria-labelledby': `${opts.id}-title ${opts.id}-desc`,
      class: 'chart',
      preserveAspectRatio: 'none',
    },
    svg('title', { id: `${opts.id}-title` }, opts.title),
    svg('desc', { id: `${opts.id}-desc` }, opts.summary),
    svg('line', { x1: left, x2: width, y1: top + plotHeight, y2: top + plotHeight, class: 'axis' }),
    svg('line', { x1: left, x2: width, y1: top, y2: top, class: 'grid' }),
    svg('text', { x: left - 6, y: top + 10, class: 'tick', 'text-anchor': 'end' }, String(max)),
    svg('text', { x: left - 6, y: top + plotHeight, class: 'tick', 'text-anchor': 'end' }, '0'),
  );
  opts.columns.forEach((column, index) => {
    const x = left + index * step + (step - barWidth) / 2;
    let y = top + plotHeight;
    for (const s of opts.series) {
      const value = column.values[s.id] ?? 0;
      if (value === 0) continue;
      const barHeight = (value / max) * plotHeight;
      y -= barHeight;
      chart.append(svg('rect', { x, y, width: barWidth, height: barHeight, class: `bar series-${s.id}` }));
    }
    if (column.axisLabel) {
      chart.append(
        svg('text', { x: x + barWidth / 2, y: height - 6, class: 'tick', 'text-anchor': 'middle' }, column.axisLabel),
      );
    }
  });
  return h(
    'figure',
    { className: 'chart-figure', id: opts.id },
    h('figcaption', {}, opts.title),
    chart,
    legend(opts.series),
    dataTable(
      opts.title,
      [opts.firstColumn, ...opts.series.map((s) => s.label), t('activity.total')],
      opts.columns.map((c) => {
        const values = opts.series.map((s) => c.values[s.id] ?? 0);
        return [c.label, ...values, values.reduce((a, b) => a + b, 0)];
      }),
    ),
  );
}

/** A ranked list drawn as horizontal bars; the names are text (never inside the SVG) so long ones wrap. */
export function rankedBars(opts: {
  id: string;
  title: string;
  nameColumn: string;
  valueColumn: string;
  rows: ReadonlyArray<{ name: string; count: number }>;
  empty: string;
}): HTMLElement {
  const max = Math.max(1, ...opts.rows.map((r) => r.count));
  return h(
    'figure',
    { className: 'chart-figure ranked', id: opts.id },
    h('figcaption', {}, opts.title),
    opts.rows.length === 0
      ? h('p', { className: 'empty' }, opts.empty)
      : h(
          'table',
          { className: 'ranked-table' },
          h('caption', { className: 'visually-hidden' }, opts.title),
          h(
            'thead',
            { className: 'visually-hidden' },
            h('tr', {}, h('th', { scope: 'col' }, opts.nameColumn), h('th', { scope: 'col' }, opts.valueColumn)),
          ),
          h(
            'tbody',
            {},
            ...opts.rows.map((row) =>
              h(
                'tr',
                {},
                h('th', { scope: 'row' }, h('bdi', { dir: 'ltr' }, row.name)),
                h(
                  'td',
                  {},
                  h(
                    'span',
                    { className: 'rank-bar', 'aria-hidden': 'true' },
                    svg(
                      'svg',
                      { viewBox: '0 0 100 10', preserveAspectRatio: 'none', class: 'rank-svg' },
                      svg('rect', {
                        x: 0,
                        y: 0,
                        width: (row.count / max) * 100,
                        height: 10,
                        class: 'bar series-count',
                      }),
                    ),
                  ),
                  h('span', { className: 'rank-value' }, row.count),
                ),
              ),
            ),
          ),
        ),
  );
}
