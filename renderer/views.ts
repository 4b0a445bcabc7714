import type {
  DashboardViewId,
  ApprovalHistoryEntry,
  ClawdeskApi,
  Decision,
  DiscoveredGatewayView,
  DiscoveredGatewaysView,
  ExecPolicyView,
  HistoryDecision,
  MigrationProgressView,
  MigrationView,
  NoticeView,
  OpenclawInstallView,
  PendingApprovalView,
  PendingDeviceView,
  PolicyPreset,
  PolicyTriple,
  RemoteGatewayStateId,
  RemoteGatewayView,
  SecretsView,
  Topic,
} from '../common/ipc-contract';
import {
  buckets,
  OUTCOMES,
  outcomeOf,
  programOf,
  responseTimes,
  top,
  type Bucket,
  type Outcome,
  type ResponseBucketId,
} from './activity';
import { rankedBars, stackedColumns } from './charts';
import { download, h, table, time } from './dom';
import { locale, t, type MessageKey } from './i18n';
import { icon, type IconName } from './icons';
import { progressBar } from './progress';

/** What the person entered in a view (search text, a filter), kept while the page is open. */
export type ViewState = Record<string, string>;

export interface ViewContext {
  api: ClawdeskApi;
  /** The current view's state: it survives re-renders, so a live update never loses what was typed. */
  readonly state: ViewState;
  /** Re-renders the current view. */
  refresh(): void;
  /** Runs an action, shows its outcome ("done." unless `describe` words it) or its error in the status line, then refreshes. */
  act<T>(label: string, action: () => Promise<T>, describe?: (result: T) => string): Promise<void>;
}

export type View = (ctx: ViewContext) => Promise<HTMLElement>;

const DECISION_KEY: Record<Decision, MessageKey> = {
  'allow-once': 'decision.allowOnce',
  'allow-always': 'decision.allowAlways',
  deny: 'decision.deny',
};
const decisionLabel = (d: Decision) => t(DECISION_KEY[d]);

const DECISION_ICON: Record<Decision, IconName> = { 'allow-once': 'allow', 'allow-always': 'allow', deny: 'deny' };

function button(
  label: string,
  onclick: () => unknown,
  opts: { icon?: IconName; kind?: 'primary' | 'danger' | 'quiet'; disabled?: boolean; ariaLabel?: string } = {},
): HTMLButtonElement {
  return h(
    'button',
    {
      type: 'button',
      className: opts.kind ?? '',
      disabled: opts.disabled,
      'aria-label': opts.ariaLabel,
      onclick: () => void onclick(),
    },
    opts.icon ? icon(opts.icon) : null,
    h('span', {}, label),
  );
}

/** A waiting approval with its decisions: the command whole, in monospace, its source set apart, warnings as badges. */
function approvalCard(p: PendingApprovalView, { api, act }: ViewContext): HTMLElement {
  return h(
    'li',
    { className: 'card approval-card' },
    h('div', { className: 'card-kicker' }, icon('terminal'), h('span', {}, t('card.approvalKicker'))),
    // Who asks, before what: a gateway on another machine is named on every one of its requests.
    p.origin
      ? h(
          'p',
          { className: 'card-origin', 'data-testid': 'approval-origin' },
          t('card.fromGateway'),
          ' ',
          h('bdi', {}, p.origin.gateway),
          ' · ',
          h('bdi', { dir: 'ltr' }, p.origin.address),
        )
      : null,
    h(
      'pre',
      { className: 'command', tabindex: 0, 'aria-label': t('card.command'), dir: 'ltr' },
      h('code', {}, p.command),
    ),
    p.warnings.length > 0
      ? h(
          'ul',
          { className: 'badges', 'aria-label': t('card.warnings') },
          ...p.warnings.map((w) =>
            h('li', { className: 'badge badge-warn warning' }, icon('warning'), h('span', {}, w)),
          ),
        )
      : null,
    h(
      'p',
      { className: 'meta source' },
      t('card.approvalSource', {
        cwd: p.cwd ?? '—',
        agent: p.agentId ?? '—',
        host: p.host ?? '—',
        expires: time(p.expiresAtMs),
      }),
    ),
    h(
      'div',
      { className: 'actions' },
      ...p.allowedDecisions.map((d) =>
        button(decisionLabel(d), () => act(decisionLabel(d), () => api.resolveApproval(p.id, d)), {
          icon: DECISION_ICON[d],
          kind: d === 'deny' ? 'danger' : 'quiet',
        }),
      ),
    ),
  );
}

function pairingCard(p: PendingDeviceView, { api, act }: ViewContext): HTMLElement {
  const name = p.displayName ?? p.deviceId;
  return h(
    'li',
    { className: 'card pairing-card' },
    h('div', { className: 'card-kicker' }, icon('devices'), h('span', {}, t('card.pairingKicker'))),
    h('p', { className: 'card-title' }, h('bdi', {}, name)),
    h(
      'p',
      { className: 'meta source' },
      t('card.pairingSource', {
        platform: p.platform ?? '—',
        roles: (p.roles ?? [p.role ?? 'operator']).join(', '),
        scopes: (p.scopes ?? []).join(', ') || t('card.noScopes'),
        ip: p.remoteIp ?? '—',
        repair: p.isRepair ? 'yes' : 'no',
      }),
    ),
    h(
      'div',
      { className: 'actions' },
      button(t('pairing.approve'), () => act(t('pairing.approve'), () => api.approveDevice(p.requestId)), {
        icon: 'allow',
        kind: 'quiet',
        ariaLabel: t('pairing.approveNamed', { name }),
      }),
      button(t('pairing.reject'), () => act(t('pairing.reject'), () => api.rejectDevice(p.requestId)), {
        icon: 'deny',
        kind: 'danger',
        ariaLabel: t('pairing.rejectNamed', { name }),
      }),
    ),
  );
}

/** A problem main found (a damaged settings file, refused notifications): what happened, what to do, Dismiss. */
function noticeCard(n: NoticeView, { api, act }: ViewContext): HTMLElement {
  return h(
    'li',
    { className: `card notice-card notice-${n.severity}`, 'data-testid': 'notice' },
    h(
      'div',
      { className: 'card-kicker' },
      icon(n.severity === 'error' ? 'alert' : 'warning'),
      h('span', {}, t('card.noticeKicker')),
    ),
    h('p', { className: 'card-title' }, fromMain(n.message, n.lang)),
    h('p', { className: 'meta' }, fromMain(n.fix, n.lang)),
    h(
      'div',
      { className: 'actions' },
      button(t('notice.dismiss'), () => act(t('notice.dismiss'), () => api.dismissNotice(n.id)), {
        kind: 'quiet',
        ariaLabel: t('notice.dismissNamed', { message: n.message }),
      }),
    ),
  );
}

const GATEWAY_HEALTH: Record<string, 'ok' | 'warn' | 'bad'> = {
  running: 'ok',
  attached: 'ok',
  starting: 'warn',
  degraded: 'warn',
  stopped: 'bad',
  error: 'bad',
};

/** Runs `load`; on failure the overview shows the reason in place of that part instead of failing whole. */
async function attempt<T>(load: () => Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: string }> {
  try {
    return { ok: true, value: await load() };
  } catch (error) {
    return { ok: false, error: cleanError(error) };
  }
}

export function cleanError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/^Error invoking remote method '[^']+': (Error: )?/, '');
}

/** The overview: what needs the person first (approvals, pairings), then gateway and node health, then recent activity. */
export const statusView: View = async (ctx) => {
  const { api, act } = ctx;
  const [s, pending, devices, nodes, recent, openclaw, remote] = await Promise.all([
    api.getStatus(),
    attempt(() => api.listPendingApprovals()),
    attempt(() => api.listDevices()),
    attempt(() => api.listNodes()),
    attempt(() => api.queryApprovalHistory({ limit: 5 })),
    attempt(() => api.getOpenclawInstall()),
    attempt(() => api.listRemoteGateways()),
  ]);
  const owned = s.gateway.owner.kind === 'clawdesk' || s.gateway.owner.kind === 'none';
  const running = s.gateway.state === 'running' || s.gateway.state === 'starting' || s.gateway.state === 'degraded';
  const openclawMode = s.gateway.mode === 'openclaw-supervised' || s.gateway.mode === 'openclaw-external';
  const needs = [
    ...(pending.ok ? pending.value.map((p) => approvalCard(p, ctx)) : []),
    ...(devices.ok ? devices.value.pending.map((p) => pairingCard(p, ctx)) : []),
    ...s.notices.map((n) => noticeCard(n, ctx)),
    // A changed certificate is never something to wait out: it leads, with what to do.
    ...(remote.ok ? remote.value.gateways.filter((g) => g.state === 'pin-mismatch').map(pinMismatchCard) : []),
  ];
  const connected = nodes.ok ? nodes.value.filter((n) => n.connected) : [];
  return h(
    'section',
    { 'aria-labelledby': 'status-h' },
    h('h2', { id: 'status-h' }, t('overview.title')),
    h(
      'section',
      { 'aria-labelledby': 'needs-h', className: 'needs' },
      h('h3', { id: 'needs-h' }, t('overview.needs')),
      needs.length > 0
        ? h('ul', { className: 'cards' }, ...needs)
        : h('p', { className: 'all-clear' }, icon('allow'), h('span', {}, t('overview.allClear'))),
      !pending.ok
        ? h('p', { className: 'error', role: 'alert' }, t('overview.approvalsError', { reason: pending.error }))
        : null,
      !devices.ok
        ? h('p', { className: 'error', role: 'alert' }, t('overview.pairingsError', { reason: devices.error }))
        : null,
    ),
    h('h3', {}, t('overview.health')),
    h(
      'div',
      { className: 'tiles' },
      h(
        'section',
        { className: 'tile', 'aria-labelledby': 'gateway-tile-h' },
        h('h4', { id: 'gateway-tile-h' }, icon('server'), h('span', {}, t('overview.gateway'))),
        h(
          'p',
          { className: `health health-${GATEWAY_HEALTH[s.gateway.state] ?? 'warn'}` },
          h('span', { className: 'dot', 'aria-hidden': 'true' }),
          h('span', { 'data-testid': 'gateway-state' }, t('gateway.state', { state: s.gateway.state })),
        ),
        h(
          'dl',
          {},
          h('dt', {}, t('overview.address')),
          h('dd', {}, h('bdi', { dir: 'ltr' }, s.gateway.url ?? t('overview.port', { port: s.gateway.port }))),
          h('dt', {}, t('overview.owner')),
          h('dd', { 'data-testid': 'gateway-owner' }, s.gateway.owner.description),
        ),
        s.gateway.error ? h('p', { className: 'error', role: 'alert' }, s.gateway.error) : null,
        s.gateway.warning
          ? h(
              'p',
              { className: 'warning', role: 'alert', 'data-testid': 'gateway-warning' },
              `${s.gateway.warning.message}. ${s.gateway.warning.fix}`,
            )
          : null,
        s.gateway.handOver ? h('p', { className: 'note' }, s.gateway.handOver) : null,
        h(
          'div',
          { className: 'actions' },
          button(t('gateway.start'), () => act(t('gateway.start'), () => api.controlGateway('start')), {
            disabled: !owned || running,
          }),
          button(t('gateway.stop'), () => act(t('gateway.stop'), () => api.controlGateway('stop')), {
            disabled: !owned || !running,
          }),
          button(t('gateway.restart'), () => act(t('gateway.restart'), () => api.controlGateway('restart')), {
            icon: 'refresh',
            disabled: !owned || !running,
          }),
          openclawMode
            ? button(
                t('gateway.controlUi'),
                () =>
                  act(t('gateway.controlUi'), async () => {
                    const result = await api.openControlUi();
                    // What went wrong and its fix, in the action's error line.
                    if (!result.opened) throw new Error([result.error, result.fix].filter(Boolean).join(' '));
                  }),
                { disabled: !(s.gateway.state === 'running' || s.gateway.state === 'attached') },
              )
            : null,
        ),
      ),
      h(
        'section',
        { className: 'tile', 'aria-labelledby': 'nodes-tile-h' },
        h('h4', { id: 'nodes-tile-h' }, icon('nodes'), h('span', {}, t('overview.nodes'))),
        nodes.ok
          ? h(
              'p',
              { className: `health health-${connected.length > 0 ? 'ok' : 'warn'}`, 'data-testid': 'nodes-health' },
              h('span', { className: 'dot', 'aria-hidden': 'true' }),
              h('span', {}, t('overview.nodesConnected', { connected: connected.length, total: nodes.value.length })),
            )
          : h('p', { className: 'error', role: 'alert' }, nodes.error),
        nodes.ok && nodes.value.length > 0
          ? h(
              'ul',
              { className: 'node-list' },
              ...nodes.value.map((n) =>
                h(
                  'li',
                  { className: `health health-${n.connected ? 'ok' : 'bad'}` },
                  h('span', { className: 'dot', 'aria-hidden': 'true' }),
                  h('bdi', {}, n.displayName ?? n.nodeId),
                  h('span', { className: 'meta' }, t(n.connected ? 'node.connected' : 'node.offline')),
                ),
              ),
            )
          : null,
      ),
      h(
        'section',
        { className: 'tile', 'aria-labelledby': 'app-tile-h' },
        h('h4', { id: 'app-tile-h' }, icon('secrets'), h('span', {}, t('overview.app'))),
        h(
          'dl',
          {},
          h('dt', {}, t('overview.pendingApprovals')),
          h('dd', {}, s.pendingApprovals),
          h('dt', {}, t('overview.pendingPairings')),
          h('dd', {}, s.pendingPairings),
          h('dt', {}, t('overview.secretsBackend')),
          h('dd', { 'data-testid': 'status-secrets-backend' }, backendName(s.secretsBackendId, s.secretsBackend)),
          h('dt', {}, t('overview.version')),
          h('dd', {}, `${s.version} (${s.platform})`),
        ),
        h(
          'label',
          { className: 'check' },
          h('input', {
            type: 'checkbox',
            checked: s.startAtLogin,
            onchange: (e: Event) =>
              act(t('overview.startAtLogin'), () => api.setStartAtLogin((e.target as HTMLInputElement).checked)),
          }),
          t('overview.startAtLogin'),
        ),
      ),
      openclaw.ok && openclaw.value.available ? openclawTile(openclaw.value, ctx) : null,
    ),
    h('h3', {}, t('overview.recent')),
    recent.ok
      ? recent.value.length === 0
        ? h('p', { className: 'empty' }, t('overview.noApprovals'))
        : h(
            'ul',
            { className: 'recent' },
            ...recent.value.map((e) =>
              h(
                'li',
                {},
                decisionBadge(e),
                h('code', { dir: 'ltr', className: 'recent-command' }, e.command),
                h('span', { className: 'meta' }, h('bdi', {}, e.agentId ?? '—'), ' · ', time(e.resolvedAtMs)),
              ),
            ),
          )
      : h('p', { className: 'error', role: 'alert' }, recent.error),
  );
};

const INSTALL_SOURCE: Record<NonNullable<OpenclawInstallView['installed']>['source'], string> = {
  explicit: 'explicit',
  'clawdesk-data-dir': 'clawdesk',
  path: 'path',
};

/** Accepted by setOpenclawPinnedVersion (main checks again): plain semver, never a tag, URL or path. */
const PINNABLE_VERSION = /^\d{1,6}\.\d{1,6}\.\d{1,6}(?:-[0-9A-Za-z]+(?:\.[0-9A-Za-z]+)*)?$/;

/**
 * OpenClaw as Clawdesk installs it: what the supervised mode would run, the version "Install" fetches (a setting),
 * the install with its progress bar and Cancel, and removal of Clawdesk's own copy. Live: the `openclaw-install`
 * topic replaces this tile alone (VIEWS' patch), so the rest of the overview is not rebuilt on every step.
 */
function openclawTile(view: OpenclawInstallView, { api, act, state }: ViewContext): HTMLElement {
  const busy = view.progress !== null;
  const pin = h('input', {
    type: 'text',
    id: 'openclaw-pin',
    dir: 'ltr',
    spellcheck: 'false',
    autocomplete: 'off',
    inputmode: 'decimal',
    disabled: busy,
  });
  pin.value = state.openclawPin ?? view.pinnedVersion;
  pin.addEventListener('input', () => (state.openclawPin = pin.value));
  const result = view.lastResult;
  return h(
    'section',
    { className: 'tile', id: 'openclaw-tile', 'aria-labelledby': 'openclaw-tile-h' },
    h('h4', { id: 'openclaw-tile-h' }, icon('server'), h('span', {}, t('openclaw.title'))),
    h(
      'dl',
      {},
      h('dt', {}, t('openclaw.installed')),
      h(
        'dd',
        { 'data-testid': 'openclaw-installed' },
        view.installed
          ? t('openclaw.installedValue', { openclaw: view.installed.openclawVersion, node: view.installed.nodeVersion })
          : t('openclaw.notInstalled'),
      ),
      view.installed ? h('dt', {}, t('openclaw.location')) : null,
      view.installed
        ? h(
            'dd',
            {},
            h('code', { dir: 'ltr', className: 'path' }, view.installed.location),
            ' ',
            h('span', { className: 'meta' }, t('openclaw.source', { source: INSTALL_SOURCE[view.installed.source] })),
          )
        : null,
    ),
    !view.installed && view.problem && !busy
      ? h('p', { className: 'note' }, [view.problem, view.fix].filter(Boolean).join(' '))
      : null,
    view.progress
      ? progressBar({
          id: 'openclaw-install',
          label: t('openclaw.installing', { version: view.pinnedVersion }),
          fraction: view.progress.fraction,
          detail: view.progress.message,
          cancelLabel: t('openclaw.cancel'),
          onCancel: view.progress.cancellable
            ? () => void act(t('openclaw.cancel'), () => api.cancelOpenclawInstall())
            : undefined,
        })
      : null,
    result && !busy
      ? h(
          'p',
          {
            className: result.ok ? 'note' : 'error',
            role: result.ok ? 'status' : 'alert',
            'data-testid': 'openclaw-result',
          },
          [result.message, result.fix].filter(Boolean).join(' '),
        )
      : null,
    view.blocked && !busy ? h('p', { className: 'note', 'data-testid': 'openclaw-blocked' }, view.blocked) : null,
    h(
      'div',
      { className: 'field' },
      h('label', { for: 'openclaw-pin' }, t('openclaw.pinned')),
      pin,
      h('span', { className: 'meta' }, t('openclaw.tested', { version: view.testedVersion })),
    ),
    h(
      'div',
      { className: 'actions' },
      button(
        t('openclaw.savePin'),
        () =>
          act(t('openclaw.savePin'), async () => {
            const version = pin.value.trim();
            if (version !== '' && !PINNABLE_VERSION.test(version))
              throw new Error(t('openclaw.pinInvalid', { value: version, example: view.testedVersion }));
            await api.setOpenclawPinnedVersion(version === '' || version === view.testedVersion ? null : version);
            delete state.openclawPin;
          }),
        { disabled: busy },
      ),
      button(
        t('openclaw.install', { version: view.pinnedVersion }),
        () =>
          act(t('openclaw.install', { version: view.pinnedVersion }), async () => {
            const after = await api.installOpenclaw();
            // An install that ended badly is the action's failure, with its reason and fix.
            if (!after.lastResult?.ok)
              throw new Error([after.lastResult?.message, after.lastResult?.fix].filter(Boolean).join(' '));
          }),
        { kind: 'primary', icon: 'download', disabled: busy || Boolean(view.blocked) },
      ),
      view.removable
        ? button(
            t('openclaw.uninstall'),
            () =>
              act(t('openclaw.uninstall'), async () => {
                const after = await api.uninstallOpenclaw();
                if (!after.lastResult?.ok)
                  throw new Error([after.lastResult?.message, after.lastResult?.fix].filter(Boolean).join(' '));
              }),
            { kind: 'danger', disabled: busy || Boolean(view.blocked) },
          )
        : null,
    ),
  );
}

/** The overview's live part: only the OpenClaw tile is rebuilt while an install moves. */
async function patchOpenclawTile(ctx: ViewContext): Promise<(content: HTMLElement) => void> {
  const view = await attempt(() => ctx.api.getOpenclawInstall());
  return (content) => {
    const old = content.querySelector('#openclaw-tile');
    if (old && view.ok && view.value.available) old.replaceWith(openclawTile(view.value, ctx));
  };
}

const OUTCOME_KEY: Record<Outcome, MessageKey> = {
  'allow-once': 'outcome.allowOnce',
  'allow-always': 'outcome.allowAlways',
  deny: 'outcome.deny',
  fallback: 'outcome.fallback',
  expired: 'outcome.expired',
};
const outcomeLabel = (o: Outcome) => t(OUTCOME_KEY[o]);

function decisionBadge(entry: ApprovalHistoryEntry): HTMLElement {
  const outcome = outcomeOf(entry);
  return h('span', { className: `badge outcome outcome-${outcome}` }, outcomeLabel(outcome));
}

const RESPONSE_KEY: Record<ResponseBucketId, MessageKey> = {
  'under-5s': 'activity.under5s',
  '5-30s': 'activity.5to30s',
  '30s-2min': 'activity.30sTo2min',
  'over-2min': 'activity.over2min',
};

/** A duration in the person's language and units ("1.5 s", "1,5 s", "1.5秒"). */
function duration(ms: number): string {
  const [value, unit] = ms < 60_000 ? [ms / 1000, 'second'] : [ms / 60_000, 'minute'];
  return new Intl.NumberFormat(locale(), {
    style: 'unit',
    unit,
    unitDisplay: 'short',
    maximumFractionDigits: 1,
  }).format(value);
}

/** Activity as a picture: approvals over 24 hours and 7 days by outcome, top programs and agents, response time. */
export const activityView: View = async ({ api }) => {
  const entries = await api.queryApprovalHistory({ limit: 10_000 });
  const now = Date.now();
  const series = OUTCOMES.map((id) => ({ id, label: outcomeLabel(id) }));
  const list = new Intl.ListFormat(locale(), { type: 'unit', style: 'short' });
  const summarise = (buckets: Bucket[], key: 'activity.summary24h' | 'activity.summary7d') => {
    const totals = OUTCOMES.map((o) => [o, buckets.reduce((sum, b) => sum + b.counts[o], 0)] as const);
    const total = totals.reduce((sum, [, n]) => sum + n, 0);
    const breakdown = list.format(
      totals.map(([o, count]) => t('activity.summaryItem', { outcome: outcomeLabel(o), count })),
    );
    return t(key, { total, breakdown });
  };
  const hours = buckets(entries, now, 'hour', 24);
  const days = buckets(entries, now, 'day', 7);
  const response = responseTimes(entries);
  const hourLabel = (ms: number) => new Date(ms).toLocaleTimeString(locale(), { hour: '2-digit', minute: '2-digit' });
  const dayLabel = (ms: number) => new Date(ms).toLocaleDateString(locale(), { weekday: 'short', day: 'numeric' });
  return h(
    'section',
    { 'aria-labelledby': 'activity-h' },
    h('h2', { id: 'activity-h' }, t('activity.title')),
    h(
      'div',
      { className: 'charts' },
      stackedColumns({
        id: 'chart-24h',
        title: t('activity.last24h'),
        summary: summarise(hours, 'activity.summary24h'),
        firstColumn: t('activity.hour'),
        series,
        columns: hours.map((b, i) => ({
          label: hourLabel(b.startMs),
          axisLabel: i % 6 === 0 ? hourLabel(b.startMs) : undefined,
          values: b.counts,
        })),
      }),
      stackedColumns({
        id: 'chart-7d',
        title: t('activity.last7d'),
        summary: summarise(days, 'activity.summary7d'),
        firstColumn: t('activity.day'),
        series,
        columns: days.map((b) => ({ label: dayLabel(b.startMs), axisLabel: dayLabel(b.startMs), values: b.counts })),
      }),
      rankedBars({
        id: 'chart-programs',
        title: t('activity.topPrograms'),
        nameColumn: t('activity.program'),
        valueColumn: t('activity.approvals'),
        rows: top(entries, programOf, 5),
        empty: t('overview.noApprovals'),
      }),
      rankedBars({
        id: 'chart-agents',
        title: t('activity.topAgents'),
        nameColumn: t('activity.agent'),
        valueColumn: t('activity.approvals'),
        rows: top(entries, (e) => e.agentId, 5),
        empty: t('overview.noApprovals'),
      }),
      h(
        'div',
        { className: 'chart-figure-wrap' },
        rankedBars({
          id: 'chart-response',
          title: t('activity.responseTime'),
          nameColumn: t('activity.timeToAnswer'),
          valueColumn: t('activity.approvals'),
          rows: response.buckets.map((b) => ({ name: t(RESPONSE_KEY[b.id]), count: b.count })),
          empty: t('activity.noAnswers'),
        }),
        h(
          'p',
          { className: 'meta', 'data-testid': 'median-response' },
          response.medianMs === null
            ? t('activity.noAnswers')
            : t('activity.median', { time: duration(response.medianMs) }),
        ),
      ),
    ),
  );
};

/** A time as the person's locale writes it, marked up as data (`<time>`). */
function when(ms: number | undefined): HTMLElement | string {
  return ms ? h('time', { datetime: new Date(ms).toISOString() }, time(ms)) : '—';
}

/**
 * Text main computes (doctor findings, the secrets backend's detail): marked with the language it is in (English,
 * unless main says otherwise, as notices do) for screen readers, and isolated from the page's direction.
 */
function fromMain(text: string, lang = 'en'): HTMLElement {
  return h('bdi', { lang }, text);
}

const BACKEND_NAMES: Record<NonNullable<SecretsView['backendId']>, MessageKey> = {
  keytar: 'secrets.backendName.keytar',
  'safe-storage': 'secrets.backendName.safeStorage',
  'plaintext-file': 'secrets.backendName.plaintextFile',
  ephemeral: 'secrets.backendName.ephemeral',
  'not-loaded': 'secrets.backendName.notLoaded',
};

/** How the device key is held, in the dashboard's language; undefined when main sent no id it knows. */
function backendText(id: SecretsView['backendId']): string | undefined {
  return id && Object.hasOwn(BACKEND_NAMES, id) ? t(BACKEND_NAMES[id]) : undefined;
}

/** The backend's name, or main's English words (marked as English) without an id. */
function backendName(id: SecretsView['backendId'], english: string): HTMLElement | string {
  return backendText(id) ?? fromMain(english);
}

/** A list of identifiers (roles, scopes, commands) as data, or `empty` when there are none. */
function ids(values: readonly string[] | undefined, empty = '—'): HTMLElement | string {
  return values && values.length > 0 ? h('bdi', { dir: 'ltr' }, values.join(', ')) : empty;
}

export const devicesView: View = async ({ api, act }) => {
  const d = await api.listDevices();
  return h(
    'section',
    { 'aria-labelledby': 'devices-h' },
    h('h2', { id: 'devices-h' }, t('nav.devices')),
    h('h3', {}, t('devices.waiting')),
    table(
      t('devices.pendingCaption'),
      [
        t('devices.colDevice'),
        t('devices.colPlatform'),
        t('devices.colRole'),
        t('devices.colScopes'),
        t('devices.colIp'),
        t('devices.colRepair'),
        t('devices.colRequested'),
        t('devices.colActions'),
      ],
      d.pending.map((p) => {
        const name = p.displayName ?? p.deviceId;
        return [
          h('bdi', {}, name),
          p.platform ? h('bdi', {}, p.platform) : '—',
          ids(p.roles ?? [p.role ?? 'operator']),
          ids(p.scopes, t('card.noScopes')),
          p.remoteIp ? h('bdi', { dir: 'ltr' }, p.remoteIp) : '—',
          t(p.isRepair ? 'common.yes' : 'common.no'),
          when(p.ts),
          h(
            'span',
            { className: 'actions' },
            h(
              'button',
              {
                type: 'button',
                'aria-label': t('pairing.approveNamed', { name }),
                onclick: () => act(t('pairing.approve'), () => api.approveDevice(p.requestId)),
              },
              t('pairing.approve'),
            ),
            h(
              'button',
              {
                type: 'button',
                className: 'danger',
                'aria-label': t('pairing.rejectNamed', { name }),
                onclick: () => act(t('pairing.reject'), () => api.rejectDevice(p.requestId)),
              },
              t('pairing.reject'),
            ),
          ),
        ];
      }),
      t('devices.noneWaiting'),
    ),
    h('h3', {}, t('devices.paired')),
    table(
      t('devices.pairedCaption'),
      [
        t('devices.colDevice'),
        t('devices.colPlatform'),
        t('devices.colRolesTokens'),
        t('devices.colApproved'),
        t('devices.colActions'),
      ],
      d.paired.map((p) => {
        const name = p.displayName ?? p.deviceId;
        return [
          h('bdi', { title: p.deviceId }, p.displayName ?? `${p.deviceId.slice(0, 12)}…`),
          p.platform ? h('bdi', {}, p.platform) : '—',
          h(
            'ul',
            { className: 'tokens' },
            ...p.tokens.map((token) =>
              h(
                'li',
                {},
                t('devices.token', {
                  role: token.role,
                  scopes: token.scopes.join(', ') || t('card.noScopes'),
                  revoked: token.revokedAtMs ? 'yes' : 'no',
                }),
                ' ',
                h(
                  'button',
                  {
                    type: 'button',
                    'aria-label': t('devices.rotateNamed', { role: token.role, name }),
                    onclick: () => act(t('devices.rotateToken'), () => api.rotateDeviceToken(p.deviceId, token.role)),
                  },
                  t('devices.rotate'),
                ),
                h(
                  'button',
                  {
                    type: 'button',
                    'aria-label': t('devices.revokeNamed', { role: token.role, name }),
                    disabled: Boolean(token.revokedAtMs),
                    onclick: () => act(t('devices.revokeToken'), () => api.revokeDeviceToken(p.deviceId, token.role)),
                  },
                  t('devices.revoke'),
                ),
              ),
            ),
          ),
          when(p.approvedAtMs),
          h(
            'button',
            {
              type: 'button',
              className: 'danger',
              'aria-label': t('devices.removeNamed', { name }),
              onclick: () => act(t('devices.removeDevice'), () => api.removeDevice(p.deviceId)),
            },
            t('devices.remove'),
          ),
        ];
      }),
      t('devices.nonePaired'),
    ),
  );
};

export const nodesView: View = async ({ api }) => {
  const nodes = await api.listNodes();
  return h(
    'section',
    { 'aria-labelledby': 'nodes-h' },
    h('h2', { id: 'nodes-h' }, t('nav.nodes')),
    table(
      t('nodes.caption'),
      [
        t('nodes.colNode'),
        t('nodes.colPlatform'),
        t('nodes.colVersion'),
        t('nodes.colConnected'),
        t('nodes.colPaired'),
        t('nodes.colCommands'),
        t('nodes.colIp'),
      ],
      nodes.map((n) => [
        h('bdi', {}, n.displayName ?? n.nodeId),
        n.platform ? h('bdi', {}, n.platform) : '—',
        n.version ? h('bdi', { dir: 'ltr' }, n.version) : '—',
        t(n.connected ? 'common.yes' : 'common.no'),
        t(n.paired ? 'common.yes' : 'common.no'),
        ids(n.commands),
        n.remoteIp ? h('bdi', { dir: 'ltr' }, n.remoteIp) : '—',
      ]),
      t('nodes.none'),
    ),
  );
};

const HISTORY_DECISIONS: ReadonlyArray<readonly [HistoryDecision, MessageKey]> = [
  ['allow-once', 'outcome.allowOnce'],
  ['allow-always', 'outcome.allowAlways'],
  ['deny', 'outcome.deny'],
  ['expired', 'outcome.expired'],
  ['no-decision', 'outcome.noDecision'],
];

export const approvalsView: View = async (ctx) => {
  const { api, act, refresh, state } = ctx;
  const pending = await api.listPendingApprovals();
  const search = h('input', { type: 'search', id: 'history-search', placeholder: t('approvals.searchPlaceholder') });
  search.value = state.historyText ?? '';
  const filter = h(
    'select',
    { id: 'history-decision' },
    h('option', { value: '' }, t('approvals.anyDecision')),
    ...HISTORY_DECISIONS.map(([value, key]) => h('option', { value }, t(key))),
  );
  filter.value = state.historyDecision ?? '';
  const results = h('div', { id: 'history-results', 'aria-live': 'polite' });
  let queryGeneration = 0;
  const runQuery = async () => {
    state.historyText = search.value;
    state.historyDecision = filter.value;
    const mine = ++queryGeneration;
    const entries = await api.queryApprovalHistory({
      text: search.value || undefined,
      decision: (filter.value || undefined) as HistoryDecision | undefined,
      limit: 500,
    });
    // Typing fast sends one query per keystroke: only the answer to the latest may be shown.
    if (mine !== queryGeneration) return;
    results.replaceChildren(
      table(
        t('approvals.historyCaption'),
        [
          t('approvals.colWhen'),
          t('approvals.colCommand'),
          t('approvals.colDirectory'),
          t('approvals.colAgent'),
          t('approvals.colDecision'),
          t('approvals.colDecidedBy'),
        ],
        entries.map((e) => [
          time(e.resolvedAtMs),
          h('code', { dir: 'ltr' }, e.command),
          h('bdi', { dir: 'ltr' }, e.cwd ?? '—'),
          h('bdi', {}, e.agentId ?? '—'),
          decisionBadge(e),
          h('bdi', {}, e.decidedBy),
        ]),
        t('approvals.noMatches'),
      ),
    );
  };
  search.addEventListener('input', () => void runQuery());
  filter.addEventListener('change', () => void runQuery());
  await runQuery();
  return h(
    'section',
    { 'aria-labelledby': 'approvals-h' },
    h('h2', { id: 'approvals-h' }, t('approvals.title')),
    h('h3', {}, t('approvals.waiting')),
    pending.length === 0
      ? h('p', { className: 'empty' }, t('approvals.noneWaiting'))
      : h('ul', { className: 'cards' }, ...pending.map((p) => approvalCard(p, ctx))),
    h('h3', {}, t('approvals.history')),
    h(
      'div',
      { className: 'toolbar' },
      h('label', { for: 'history-search' }, t('approvals.search')),
      search,
      h('label', { for: 'history-decision' }, t('approvals.decision')),
      filter,
      h(
        'button',
        {
          type: 'button',
          onclick: () => act(t('approvals.exportJson'), async () => download(await api.exportApprovalHistory('json'))),
        },
        icon('download'),
        h('span', {}, t('approvals.exportJson')),
      ),
      h(
        'button',
        {
          type: 'button',
          onclick: () => act(t('approvals.exportCsv'), async () => download(await api.exportApprovalHistory('csv'))),
        },
        icon('download'),
        h('span', {}, t('approvals.exportCsv')),
      ),
      h('button', { type: 'button', onclick: () => refresh() }, icon('refresh'), h('span', {}, t('common.refresh'))),
    ),
    results,
  );
};

const DECIDED_BY: Record<ExecPolicyView['decidedBy'][keyof PolicyTriple], string> = {
  'host-file': 'hostFile',
  config: 'config',
  both: 'both',
  'built-in default': 'builtIn',
};

const PRESET_KEY: Record<PolicyPreset, MessageKey> = {
  'locked-down': 'policy.presetLockedDown',
  'ask-every-time': 'policy.presetAskEveryTime',
  'allowlist-ask-on-miss': 'policy.presetAllowlist',
  trusted: 'policy.presetTrusted',
};

/** A setting's value as the files spell it (`allowlist`, `on-miss`): data, not translated. */
const setting = (value: string) => h('code', { dir: 'ltr' }, value);

function policyRow(label: string, key: keyof PolicyTriple, view: ExecPolicyView) {
  const config = view.config?.[key];
  const hostFile = view.hostFile?.[key];
  return [
    label,
    config ? setting(config) : t('policy.notSet'),
    hostFile ? setting(hostFile) : t('policy.noFile'),
    h('strong', {}, setting(view.effective[key])),
    t('policy.decidedBy', { side: DECIDED_BY[view.decidedBy[key]] ?? 'builtIn' }),
  ];
}

export const policyView: View = async ({ api, act }) => {
  const p = await api.getExecPolicy();
  return h(
    'section',
    { 'aria-labelledby': 'policy-h' },
    h('h2', { id: 'policy-h' }, t('nav.policy')),
    h('p', {}, t('policy.intro')),
    table(
      t('policy.caption'),
      [
        t('policy.colSetting'),
        t('policy.colConfig', { path: 'tools.exec' }),
        t('policy.colHostFile'),
        t('policy.colEffective'),
        t('policy.colDecidedBy'),
      ],
      [
        policyRow(t('policy.security'), 'security', p),
        policyRow(t('policy.ask'), 'ask', p),
        policyRow(t('policy.askFallback'), 'askFallback', p),
      ],
      '',
    ),
    h(
      'p',
      { className: 'meta' },
      p.hostFilePath ? t('policy.hostFilePath', { path: p.hostFilePath }) : t('policy.hostFileUnknown'),
    ),
    h('h3', {}, t('policy.presets')),
    h('p', {}, t('policy.presetsIntro')),
    h(
      'div',
      { className: 'actions' },
      ...p.presets.map((preset) => {
        // A preset main adds before the renderer knows it keeps main's (English) label.
        const label = PRESET_KEY[preset.id] ? t(PRESET_KEY[preset.id]) : preset.label;
        return h(
          'button',
          {
            type: 'button',
            onclick: () => act(t('policy.apply', { preset: label }), () => api.applyPolicyPreset(preset.id)),
          },
          label,
        );
      }),
    ),
  );
};

/** Preview (not while one runs) and the running migration's bar, with Cancel while it still rolls everything back. */
function migrationControls(progress: MigrationProgressView | null, ctx: ViewContext): HTMLElement {
  const { api, act } = ctx;
  const slot = h(
    'div',
    { id: 'migration-progress' },
    h(
      'button',
      { type: 'button', disabled: progress !== null, onclick: () => void runMigration(true, ctx) },
      t('migration.preview'),
    ),
  );
  if (!progress) return slot;
  const fraction = progress.totalBytes > 0 ? progress.bytes / progress.totalBytes : progress.phase === 'done' ? 1 : 0;
  slot.append(
    progressBar({
      id: 'migration-bar',
      label: t('migration.running'),
      fraction,
      detail: t('migration.detail', { phase: progress.phase, files: progress.files, totalFiles: progress.totalFiles }),
      cancelLabel: t('migration.cancel'),
      onCancel: progress.cancellable ? () => void act(t('migration.cancel'), () => api.cancelMigration()) : undefined,
    }),
  );
  return slot;
}

function migrationResult(m: MigrationView, ctx: ViewContext): HTMLElement {
  return h(
    'div',
    {},
    h('h4', {}, t(m.dryRun ? 'migration.previewTitle' : m.applied ? 'migration.applied' : 'migration.nothingMigrated')),
    m.steps.length === 0
      ? h('p', { className: 'empty' }, t('migration.nothingToMigrate'))
      : h('ol', {}, ...m.steps.map((step) => h('li', {}, h('code', {}, step.action), ': ', fromMain(step.detail)))),
    m.dryRun && m.steps.length > 0
      ? h(
          'button',
          { type: 'button', className: 'danger', onclick: () => void runMigration(false, ctx) },
          t('migration.now'),
        )
      : null,
  );
}

/**
 * The outcome is kept in the view's state, not in the element: the `state` and `migration` topics re-render the
 * view while it runs and when it ends, and the result must survive that.
 */
async function runMigration(dryRun: boolean, ctx: ViewContext): Promise<void> {
  const m = await ctx.api.migrateState(dryRun);
  ctx.state.migrationResult = JSON.stringify(m);
  ctx.refresh();
}

export const stateView: View = async (ctx) => {
  const { api, state } = ctx;
  const [s, progress] = await Promise.all([api.getState(), api.getMigrationProgress()]);
  const kept = state.migrationResult ? (JSON.parse(state.migrationResult) as MigrationView) : undefined;
  return h(
    'section',
    { 'aria-labelledby': 'state-h' },
    h('h2', { id: 'state-h' }, t('state.title')),
    table(
      t('state.tableCaption'),
      [t('state.colDirectory'), t('state.colSource'), t('state.colExists'), t('state.colActive'), t('state.colNotes')],
      s.dirs.map((d) => [
        h('code', { dir: 'ltr' }, d.path),
        h('code', {}, d.source),
        t(d.exists ? 'common.yes' : 'common.no'),
        t(d.active ? 'common.yes' : 'common.no'),
        d.notes.length > 0 ? fromMain(d.notes.join('; ')) : '—',
      ]),
      t('state.none'),
    ),
    h('h3', {}, t('state.doctor')),
    s.findings.length === 0
      ? h('p', { className: 'empty' }, t('state.noFindings'))
      : h(
          'ul',
          { className: 'findings' },
          ...s.findings.map((f) =>
            h(
              'li',
              { className: `finding ${f.severity}` },
              h('strong', {}, `${t('state.severity', { severity: f.severity })}: `),
              fromMain(f.message),
              f.fix ? h('span', { className: 'fix' }, ' ', t('state.fix', { fix: f.fix })) : null,
            ),
          ),
        ),
    h('h3', {}, t('migration.title')),
    migrationControls(progress, ctx),
    h('div', { id: 'migration', 'aria-live': 'polite' }, kept && !progress ? migrationResult(kept, ctx) : null),
  );
};

/** The state view's live part: the `migration` topic (up to ten a second) moves the bar without a new scan. */
async function patchMigrationProgress(ctx: ViewContext): Promise<(content: HTMLElement) => void> {
  const progress = await attempt(() => ctx.api.getMigrationProgress());
  return (content) => {
    const old = content.querySelector('#migration-progress');
    if (old && progress.ok) old.replaceWith(migrationControls(progress.value, ctx));
  };
}

/** Why the key is only in memory and what the user can do, in plain words; the choice itself is a native dialog. */
function ephemeralKeyNotice(ephemeral: NonNullable<SecretsView['ephemeral']>, { api, act }: ViewContext): HTMLElement {
  const fix = ephemeral.keyFileOffered
    ? [
        h('p', {}, t('secrets.fixOffered')),
        h(
          'button',
          {
            type: 'button',
            id: 'accept-key-file',
            onclick: () =>
              act(
                t('secrets.keepInFileAction'),
                () => api.acceptPlaintextKeyStorage(),
                (r) =>
                  r.accepted
                    ? t('secrets.accepted', { backend: backendText(r.secrets.backendId) ?? r.secrets.backend })
                    : t('secrets.notChanged'),
              ),
          },
          t('secrets.keepInFile'),
        ),
      ]
    : ephemeral.keyFileAccepted
      ? [h('p', {}, t('secrets.fileFailed'))]
      : [h('p', {}, t('secrets.keychainLocked'))];
  return h(
    'div',
    {
      className: 'notice warning',
      role: 'region',
      'aria-labelledby': 'key-ephemeral-h',
      'data-testid': 'key-ephemeral',
    },
    h('h3', { id: 'key-ephemeral-h' }, t('secrets.notSavedTitle')),
    h('p', {}, t('secrets.ephemeral')),
    ...fix,
  );
}

export const secretsView: View = async (ctx) => {
  const s = await ctx.api.getSecrets();
  return h(
    'section',
    { 'aria-labelledby': 'secrets-h' },
    h('h2', { id: 'secrets-h' }, t('nav.secrets')),
    s.ephemeral ? ephemeralKeyNotice(s.ephemeral, ctx) : null,
    h(
      'dl',
      {},
      h('dt', {}, t('secrets.backend')),
      h('dd', { 'data-testid': 'secrets-backend' }, backendName(s.backendId, s.backend)),
      h('dt', {}, t('secrets.available')),
      h('dd', {}, t(s.available ? 'common.yes' : 'common.no')),
      h('dt', {}, t('secrets.details')),
      h('dd', {}, fromMain(s.detail)),
    ),
    h('p', { className: 'note' }, t('secrets.neverShown')),
  );
};

export const logsView: View = async ({ api, refresh }) => {
  const [logs, gatewayLog] = await Promise.all([api.getLogs(300), api.getGatewayLog(64 * 1024)]);
  const supervised = gatewayLog.mode === 'openclaw-supervised';
  return h(
    'section',
    { 'aria-labelledby': 'logs-h' },
    h('h2', { id: 'logs-h' }, t('nav.logs')),
    h('button', { type: 'button', onclick: () => refresh() }, t('common.refresh')),
    h('h3', { id: 'app-logs-h' }, t('logs.app')),
    logs.length === 0
      ? h('p', { className: 'empty' }, t('logs.none'))
      : h(
          'pre',
          { className: 'logs', tabindex: 0, 'aria-labelledby': 'app-logs-h', dir: 'ltr' },
          logs.map((l) => `${new Date(l.ts).toISOString()} ${l.level.padEnd(5)} [${l.source}] ${l.message}`).join('\n'),
        ),
    // OpenClaw's gateway output, when Clawdesk supervises it: the tail of its rotating log (it follows live).
    supervised ? h('h3', { id: 'gateway-log-h' }, t('logs.gateway')) : null,
    supervised && gatewayLog.file ? h('p', { className: 'note' }, t('logs.fullLog', { file: gatewayLog.file })) : null,
    supervised
      ? gatewayLog.text
        ? h(
            'pre',
            {
              className: 'logs',
              tabindex: 0,
              'aria-labelledby': 'gateway-log-h',
              'data-testid': 'gateway-log',
              dir: 'ltr',
            },
            gatewayLog.text,
          )
        : h('p', { className: 'empty' }, t('logs.gatewayEmpty'))
      : null,
  );
};

export const supportView: View = async ({ api, act }) =>
  h(
    'section',
    { 'aria-labelledby': 'support-h' },
    h('h2', { id: 'support-h' }, t('support.title')),
    h('p', {}, t('support.intro')),
    h(
      'button',
      {
        type: 'button',
        onclick: () => act(t('support.export'), async () => download(await api.exportSupportBundle())),
      },
      t('support.export'),
    ),
  );

/** How a gateway on another machine is doing, as a select key (ICU keys have no hyphens). */
const REMOTE_STATE_KEY: Record<RemoteGatewayStateId, string> = {
  connecting: 'connecting',
  connected: 'connected',
  retrying: 'retrying',
  'pairing-required': 'pairingRequired',
  'auth-failed': 'authFailed',
  'pin-mismatch': 'pinMismatch',
  refused: 'refused',
  'tunnel-failed': 'tunnelFailed',
  failed: 'failed',
  stopped: 'stopped',
};
const REMOTE_HEALTH: Record<RemoteGatewayStateId, 'ok' | 'warn' | 'bad'> = {
  connecting: 'warn',
  connected: 'ok',
  retrying: 'warn',
  'pairing-required': 'warn',
  'auth-failed': 'bad',
  'pin-mismatch': 'bad',
  refused: 'bad',
  'tunnel-failed': 'bad',
  failed: 'bad',
  stopped: 'warn',
};
const remoteState = (state: RemoteGatewayStateId) => t('gateways.state', { state: REMOTE_STATE_KEY[state] });

/** A changed certificate, on the overview: it leads "Needs you" until the person deals with it. */
function pinMismatchCard(g: RemoteGatewayView): HTMLElement {
  return h(
    'li',
    { className: 'card notice-card notice-error', 'data-testid': 'pin-mismatch' },
    h('div', { className: 'card-kicker' }, icon('danger'), h('span', {}, t('gateways.pinMismatchTitle'))),
    h('p', { className: 'card-title' }, h('bdi', {}, g.name), ' · ', h('bdi', { dir: 'ltr' }, g.address)),
    g.problem ? h('p', {}, fromMain(g.problem.message)) : null,
    g.problem ? h('p', { className: 'meta' }, fromMain(g.problem.fix)) : null,
  );
}

function trustText(g: RemoteGatewayView): HTMLElement | string {
  switch (g.trust?.kind) {
    case 'pin':
      return h('code', { dir: 'ltr', className: 'fingerprint' }, g.trust.fingerprint.match(/.{2}/g)!.join(':'));
    case 'system-ca':
      return t('gateways.trustSystem');
    case 'ssh':
      return t('gateways.trustSsh');
    default:
      return t('gateways.trustPlain');
  }
}

/** One gateway: its state in words, where it is, how it is trusted, and what the person can change. */
function remoteGatewayCard(g: RemoteGatewayView, { api, act }: ViewContext): HTMLElement {
  const mismatch = g.state === 'pin-mismatch';
  const id = `gw-${g.name.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  return h(
    'li',
    {
      className: `card gateway-card${mismatch ? ' notice-card notice-error' : ''}`,
      'data-testid': `gateway-${g.name}`,
    },
    h('h4', { id: `${id}-h`, className: 'card-title' }, icon('server'), h('bdi', {}, g.name)),
    h(
      'p',
      { className: `health health-${REMOTE_HEALTH[g.state]}`, role: mismatch ? 'alert' : undefined },
      h('span', { className: 'dot', 'aria-hidden': 'true' }),
      h('span', { 'data-testid': 'gateway-remote-state' }, remoteState(g.state)),
    ),
    h(
      'dl',
      {},
      h('dt', {}, t('gateways.address')),
      h('dd', {}, h('bdi', { dir: 'ltr' }, g.address)),
      h('dt', {}, t('gateways.trust')),
      h('dd', {}, trustText(g)),
      h('dt', {}, t('gateways.primary')),
      h('dd', {}, t(g.primary ? 'gateways.yes' : 'gateways.no')),
      h('dt', {}, t('gateways.runner')),
      h(
        'dd',
        {},
        g.runner ? `${t('gateways.yes')} · ${remoteState(g.runnerState?.state ?? 'stopped')}` : t('gateways.no'),
      ),
    ),
    g.pairing
      ? h(
          'div',
          { className: 'pairing-hint', 'data-testid': 'gateway-pairing' },
          h('p', {}, t('gateways.pairing', { id: g.pairing.requestId })),
          h(
            'pre',
            { className: 'command', dir: 'ltr', tabindex: 0, 'aria-label': t('gateways.pairingCommand') },
            h('code', {}, g.pairing.command),
          ),
        )
      : null,
    g.problem && !g.pairing
      ? h(
          'div',
          { className: mismatch ? 'error' : 'note', role: mismatch ? 'alert' : undefined },
          h('p', {}, fromMain(g.problem.message)),
          h('p', { className: 'meta' }, fromMain(g.problem.fix)),
        )
      : null,
    g.readOnly
      ? h('p', { className: 'note' }, t('gateways.readOnly'))
      : h(
          'div',
          { className: 'actions' },
          h(
            'label',
            { className: 'check' },
            h('input', {
              type: 'checkbox',
              id: `${id}-runner`,
              checked: g.runner,
              onchange: (e: Event) =>
                act(t('gateways.runnerToggle'), () =>
                  api.setRemoteGatewayRunner(g.name, (e.target as HTMLInputElement).checked),
                ),
            }),
            t('gateways.runnerToggle'),
          ),
          button(
            t('gateways.makePrimary'),
            () => act(t('gateways.makePrimary'), () => api.setPrimaryRemoteGateway(g.name)),
            {
              kind: 'quiet',
              disabled: g.primary,
              ariaLabel: t('gateways.makePrimaryNamed', { name: g.name }),
            },
          ),
          button(t('gateways.remove'), () => act(t('gateways.remove'), () => api.removeRemoteGateway(g.name)), {
            kind: 'danger',
            ariaLabel: t('gateways.removeNamed', { name: g.name }),
          }),
        ),
  );
}

/** Text from the network as the page shows it: invisible and direction-changing characters dropped, cut short. */
const NETWORK_TEXT_UNSAFE = /[\p{Cc}\p{Cf}\p{Co}\p{Cn}\p{Cs}\p{Zl}\p{Zp}]/gu;
export function networkText(text: unknown, max = 64): string {
  const clean = String(text ?? '')
    .slice(0, 4 * max)
    .replace(NETWORK_TEXT_UNSAFE, '')
    .replace(/\s+/g, ' ')
    .trim();
  const chars = [...clean];
  return chars.length > max ? `${chars.slice(0, max - 1).join('')}…` : clean;
}

const hexFingerprint = (text: string) =>
  text
    .replace(/^sha256:/i, '')
    .replace(/[^0-9a-f]/gi, '')
    .toLowerCase();
const colonFingerprint = (hex: string) => (hex.toUpperCase().match(/.{2}/g) ?? []).join(':');

/** The add form's fields kept in the view's state (never the secret), so a re-render keeps what was typed or filled. */
const ADD_FORM = { name: 'add.name', where: 'add.where', fingerprint: 'add.fingerprint', hint: 'add.hint' } as const;

/** The advertised fingerprint in the form, said to come from the network, unverified, while the field still holds it. */
function advertisedHint(state: ViewContext['state']): HTMLElement {
  const hint = state[ADD_FORM.hint];
  const shown = hint && hexFingerprint(state[ADD_FORM.fingerprint] ?? '') === hint;
  return h(
    'p',
    { id: 'gw-add-hint', className: 'warning', hidden: !shown, 'data-testid': 'gw-add-hint' },
    ...(shown
      ? [
          h('span', {}, t('gateways.foundHintLabel')),
          ' ',
          h('bdi', { dir: 'ltr' }, h('code', { className: 'fingerprint' }, colonFingerprint(hint))),
          ' ',
          h('span', {}, t('gateways.foundHintNote')),
        ]
      : []),
  );
}

/**
 * "Add…" on a discovered gateway: fills the add form and nothing else. No IPC, no connection: the person submits the
 * form, and main's trust on first use decides about the certificate.
 */
function prefillAddForm(ctx: ViewContext, g: DiscoveredGatewayView): void {
  const host = networkText(g.host, 253);
  const hostInUrl = host.includes(':') ? `[${host}]` : host;
  const sshPort = g.sshPort && g.sshPort !== 22 ? `:${g.sshPort}` : '';
  const hint = g.tls && g.fingerprintHint ? hexFingerprint(g.fingerprintHint).slice(0, 64) : '';
  const values = {
    [ADD_FORM.name]: networkText(g.suggestedName, 64),
    // A plaintext gateway the transport rule refuses is reached through an SSH tunnel: the person adds `user@`.
    [ADD_FORM.where]: g.plaintextRefused
      ? `${hostInUrl}${sshPort}`
      : `${g.tls ? 'wss' : 'ws'}://${hostInUrl}:${Number(g.port)}`,
    [ADD_FORM.fingerprint]: hint ? colonFingerprint(hint) : '',
    [ADD_FORM.hint]: hint,
  };
  Object.assign(ctx.state, values);
  const form = document.querySelector<HTMLFormElement>('form.gateway-add');
  if (!form) return;
  const input = (id: string) => form.querySelector<HTMLInputElement>(`#${id}`)!;
  input('gw-add-name').value = values[ADD_FORM.name];
  input('gw-add-where').value = values[ADD_FORM.where];
  input('gw-add-fingerprint').value = values[ADD_FORM.fingerprint];
  form.querySelector('#gw-add-hint')?.replaceWith(advertisedHint(ctx.state));
  form.scrollIntoView({ block: 'nearest' });
  const where = input('gw-add-where');
  if (g.plaintextRefused) {
    where.focus();
    where.setSelectionRange(0, 0);
  } else input('gw-add-name').focus();
}

/** One gateway announcing itself: its name, where it is, whether it says TLS, the fingerprint it gives, and Add…. */
function discoveredGatewayCard(g: DiscoveredGatewayView, ctx: ViewContext): HTMLElement {
  const name = networkText(g.name, 64);
  const instance = networkText(g.instanceName, 64);
  const host = networkText(g.host, 253);
  const hint = g.tls && g.fingerprintHint ? hexFingerprint(g.fingerprintHint).slice(0, 64) : '';
  return h(
    'li',
    { className: 'card gateway-card', 'data-testid': 'discovered-gateway' },
    h('h4', { className: 'card-title' }, icon('server'), h('bdi', {}, name)),
    instance && instance !== name ? h('p', { className: 'meta' }, h('bdi', {}, instance)) : null,
    h(
      'dl',
      {},
      h('dt', {}, t('gateways.address')),
      h(
        'dd',
        {},
        h(
          'bdi',
          { dir: 'ltr', 'data-testid': 'discovered-address' },
          `${host.includes(':') ? `[${host}]` : host}:${Number(g.port)}`,
        ),
      ),
      h('dt', {}, t('gateways.foundTls')),
      h('dd', { 'data-testid': 'discovered-tls' }, t(g.tls ? 'gateways.foundTlsYes' : 'gateways.foundTlsNo')),
      hint ? h('dt', {}, t('gateways.foundFingerprint')) : null,
      hint
        ? h('dd', {}, h('bdi', { dir: 'ltr' }, h('code', { className: 'fingerprint' }, colonFingerprint(hint))))
        : null,
    ),
    g.plaintextRefused ? h('p', { className: 'note' }, t('gateways.foundSshOnly')) : null,
    h(
      'div',
      { className: 'actions' },
      button(t('gateways.foundAdd'), () => prefillAddForm(ctx, g), {
        kind: 'quiet',
        ariaLabel: t('gateways.foundAddNamed', { name }),
      }),
    ),
  );
}

/** "Found on this network": what answers the mDNS browse main runs while the dashboard is open. */
function discoveredGatewaysSection(
  found: { ok: true; value: DiscoveredGatewaysView } | { ok: false; error: string },
  ctx: ViewContext,
): HTMLElement {
  const view = found.ok ? found.value : undefined;
  const gateways = (view?.gateways ?? []).slice(0, 64);
  return h(
    'section',
    { className: 'discovered', 'aria-labelledby': 'gw-found-h', 'data-testid': 'discovered-gateways' },
    h('h3', { id: 'gw-found-h' }, t('gateways.foundTitle')),
    h('p', { className: 'note' }, t('gateways.foundIntro')),
    !found.ok
      ? h('p', { className: 'warning' }, fromMain(found.error))
      : view?.problem
        ? h('p', { className: 'warning' }, t('gateways.foundUnavailable'), ' ', fromMain(view.problem))
        : null,
    gateways.length > 0
      ? h('ul', { className: 'cards gateway-cards' }, ...gateways.map((g) => discoveredGatewayCard(g, ctx)))
      : view?.browsing
        ? h('p', { className: 'empty' }, t('gateways.foundNone'))
        : null,
    view && view.dropped > 0
      ? h('p', { className: 'warning' }, t('gateways.foundDropped', { count: view.dropped }))
      : null,
  );
}

/** Only the "Found on this network" part follows the discovery: the add form keeps its focus and what was typed. */
async function patchDiscoveredGateways(ctx: ViewContext): Promise<(content: HTMLElement) => void> {
  const found = await attempt(() => ctx.api.listDiscoveredGateways());
  return (content) => {
    content.querySelector('[data-testid="discovered-gateways"]')?.replaceWith(discoveredGatewaysSection(found, ctx));
  };
}

/** Adding a gateway: the secret goes to main (and its vault) only; a wss:// one is trusted in a native dialog. */
function addGatewayForm({ api, act, state }: ViewContext): HTMLElement {
  const field = (id: string, label: string, input: HTMLElement) =>
    h('div', { className: 'field' }, h('label', { for: id }, label), input);
  const keep = (key: string) => (event: Event) => void (state[key] = (event.target as HTMLInputElement).value);
  const name = h('input', {
    id: 'gw-add-name',
    type: 'text',
    required: true,
    autocomplete: 'off',
    maxLength: 64,
    oninput: keep(ADD_FORM.name),
  });
  name.value = state[ADD_FORM.name] ?? '';
  const where = h('input', {
    id: 'gw-add-where',
    type: 'text',
    required: true,
    autocomplete: 'off',
    dir: 'ltr',
    placeholder: 'wss://192.168.1.20:18789',
    oninput: keep(ADD_FORM.where),
  });
  where.value = state[ADD_FORM.where] ?? '';
  const auth = h(
    'select',
    { id: 'gw-add-auth' },
    h('option', { value: 'token' }, t('gateways.authToken')),
    h('option', { value: 'password' }, t('gateways.authPassword')),
    h('option', { value: 'device-token' }, t('gateways.authDevice')),
    h('option', { value: 'none' }, t('gateways.authNone')),
  );
  const secret = h('input', { id: 'gw-add-secret', type: 'password', autocomplete: 'off' });
  const fingerprint = h('input', {
    id: 'gw-add-fingerprint',
    type: 'text',
    autocomplete: 'off',
    dir: 'ltr',
    'aria-describedby': 'gw-add-hint',
    oninput: (event: Event) => {
      keep(ADD_FORM.fingerprint)(event);
      form.querySelector('#gw-add-hint')?.replaceWith(advertisedHint(state));
    },
  });
  fingerprint.value = state[ADD_FORM.fingerprint] ?? '';
  const runner = h('input', { id: 'gw-add-runner', type: 'checkbox' });
  const submit = (event: Event) => {
    event.preventDefault();
    const target = where.value.trim();
    const isUrl = /^wss?:\/\//i.test(target);
    const typed = fingerprint.value.trim();
    // The fingerprint a discovered gateway advertised is a hint, never a pin: main compares it with the certificate
    // the gateway presents and asks. Only a fingerprint the person typed (read on the gateway machine) is a pin.
    const hint = state[ADD_FORM.hint];
    const advertised = Boolean(hint) && hexFingerprint(typed) === hint;
    const input = {
      name: name.value.trim(),
      ...(isUrl ? { url: target } : { sshTarget: target }),
      auth: auth.value as 'token' | 'password' | 'device-token' | 'none',
      ...(secret.value ? { secret: secret.value } : {}),
      ...(typed ? (advertised ? { advertisedFingerprint: hint } : { tlsFingerprint: typed }) : {}),
      runner: runner.checked,
    };
    // The field is emptied at once: the secret is not kept in the page.
    secret.value = '';
    void act(t('gateways.add'), async () => {
      const result = await api.addRemoteGateway(input);
      if (!result.saved) throw new Error(result.message);
      for (const key of Object.values(ADD_FORM)) delete state[key];
    });
  };
  const form = h(
    'form',
    { className: 'gateway-add', 'aria-labelledby': 'gw-add-h', onsubmit: submit },
    h('h3', { id: 'gw-add-h' }, t('gateways.addTitle')),
    field('gw-add-name', t('gateways.name'), name),
    field('gw-add-where', t('gateways.where'), where),
    field('gw-add-auth', t('gateways.authKind'), auth),
    field('gw-add-secret', t('gateways.secret'), secret),
    field('gw-add-fingerprint', t('gateways.fingerprint'), fingerprint),
    advertisedHint(state),
    h('label', { className: 'check' }, runner, t('gateways.runnerToggle')),
    h('p', { className: 'note' }, t('gateways.addNote')),
    h('div', { className: 'actions' }, h('button', { type: 'submit', className: 'primary' }, t('gateways.add'))),
  );
  return form;
}

export const gatewaysView: View = async (ctx) => {
  const [view, found] = await Promise.all([
    ctx.api.listRemoteGateways(),
    attempt(() => ctx.api.listDiscoveredGateways()),
  ]);
  return h(
    'section',
    { 'aria-labelledby': 'gateways-h' },
    h('h2', { id: 'gateways-h' }, t('gateways.title')),
    h('p', { className: 'note' }, t('gateways.intro')),
    ...view.warnings.map((w) => h('p', { className: 'warning', role: 'alert' }, fromMain(w))),
    view.gateways.length > 0
      ? h('ul', { className: 'cards gateway-cards' }, ...view.gateways.map((g) => remoteGatewayCard(g, ctx)))
      : h('p', { className: 'empty' }, t('gateways.none')),
    discoveredGatewaysSection(found, ctx),
    addGatewayForm(ctx),
  );
};

export interface ViewDefinition {
  id: DashboardViewId;
  labelKey: MessageKey;
  icon: IconName;
  /** The app-event topics whose change this view shows; any other event leaves it alone. */
  topics: readonly Topic[];
  view: View;
  /**
   * Topics that change one part only (a progress bar): `load` fetches it, and what it returns replaces that part in
   * the rendered view, so a frequent event never rebuilds the whole view or re-runs its slower calls.
   */
  patch?: { topics: readonly Topic[]; load(ctx: ViewContext): Promise<(content: HTMLElement) => void> };
}

export const VIEWS: readonly ViewDefinition[] = [
  {
    id: 'status',
    labelKey: 'nav.status',
    icon: 'overview',
    topics: ['status', 'approvals', 'devices', 'nodes', 'history', 'gateways'],
    view: statusView,
    patch: { topics: ['openclaw-install'], load: patchOpenclawTile },
  },
  { id: 'activity', labelKey: 'nav.activity', icon: 'activity', topics: ['history'], view: activityView },
  {
    id: 'approvals',
    labelKey: 'nav.approvals',
    icon: 'approvals',
    topics: ['approvals', 'history'],
    view: approvalsView,
  },
  { id: 'devices', labelKey: 'nav.devices', icon: 'devices', topics: ['devices'], view: devicesView },
  { id: 'nodes', labelKey: 'nav.nodes', icon: 'nodes', topics: ['nodes'], view: nodesView },
  {
    id: 'gateways',
    labelKey: 'nav.gateways',
    icon: 'server',
    topics: ['gateways'],
    view: gatewaysView,
    patch: { topics: ['discovered-gateways'], load: patchDiscoveredGateways },
  },
  { id: 'policy', labelKey: 'nav.policy', icon: 'policy', topics: ['policy'], view: policyView },
  {
    id: 'state',
    labelKey: 'nav.state',
    icon: 'state',
    topics: ['state'],
    view: stateView,
    patch: { topics: ['migration'], load: patchMigrationProgress },
  },
  // The secrets backend is part of the app status (main broadcasts `status` when it changes).
  { id: 'secrets', labelKey: 'nav.secrets', icon: 'secrets', topics: ['status'], view: secretsView },
  { id: 'logs', labelKey: 'nav.logs', icon: 'logs', topics: ['logs', 'gateway-log'], view: logsView },
  { id: 'support', labelKey: 'nav.support', icon: 'support', topics: [], view: supportView },
];
