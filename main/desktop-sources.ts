import { readOpenClawConfig } from '../gateway/config/gateway-config';
import { ExecApprovalsStore } from '../gateway/exec/approvals-file';
import { migrateState } from '../gateway/state/state-migration';
import type { StateScan } from '../gateway/state/state-scan';
import type { MigrationHooks, PolicySources } from './dashboard-service';
import type { AskMode, MigrationView, PolicyTriple, SecurityMode, StateView } from '../common/ipc-contract';

const SECURITY = new Set<SecurityMode>(['deny', 'allowlist', 'full']);
const ASK = new Set<AskMode>(['off', 'on-miss', 'always']);

function triple(raw: unknown): Partial<PolicyTriple> | null {
  if (!raw || typeof raw !== 'object') return null;
  const r = raw as Record<string, unknown>;
  const out: Partial<PolicyTriple> = {};
  if (SECURITY.has(r.security as SecurityMode)) out.security = r.security as SecurityMode;
  if (ASK.has(r.ask as AskMode)) out.ask = r.ask as AskMode;
  if (SECURITY.has(r.askFallback as SecurityMode)) out.askFallback = r.askFallback as SecurityMode;
  return Object.keys(out).length > 0 ? out : null;
}

/**
 * The exec policy's two sources for the dashboard: the host file (exec-approvals.json `defaults`, written with
 * the store's lock and atomic write) and the gateway config (`tools.exec` in openclaw.json, read only).
 */
export function execPolicySource(
  stateDir: string,
  configPath: string,
): { read(): Promise<PolicySources>; write(policy: PolicyTriple): Promise<void> } {
  const store = new ExecApprovalsStore({ stateDir });
  return {
    async read() {
      const state = await store.read();
      let config: Partial<PolicyTriple> | null = null;
      try {
        const read = await readOpenClawConfig(configPath);
        if (read.exists) config = triple((read.config.tools as { exec?: unknown } | undefined)?.exec);
      } catch {
        config = null;
      }
      return { hostFilePath: store.filePath, hostFile: state.exists ? triple(state.file.defaults) : null, config };
    },
    async write(policy) {
      await store.update((file) => {
        file.defaults = { ...(file.defaults ?? {}), ...policy };
      });
    },
  };
}

/** The state-directory scan, as the dashboard shows it, with the findings a person can act on. */
export function toStateView(scan: StateScan): StateView {
  const findings: StateView['findings'] = [];
  const withData = scan.dirs.filter((d) => d.kind === 'dir' && d.items.length > 0 && !d.aliasOf);
  if (withData.length > 1) {
    findings.push({
      id: 'multiple-state-dirs',
      severity: 'warn',
      message: `${withData.length} state directories hold data: ${withData.map((d) => d.path).join(', ')}.`,
      fix: 'Migrate them into the active one (State → Preview migration), or run `clawdesk doctor`.',
    });
  }
  for (const dir of scan.dirs) {
    for (const item of dir.items) {
      if (item.status !== 'ok')
        findings.push({
          id: `${item.status}:${item.path}`,
          severity: 'error',
          message: `${item.path} is ${item.status}${item.error ? `: ${item.error}` : ''}.`,
          fix: 'Run `clawdesk doctor`.',
        });
    }
    if (dir.inOneDrive)
      findings.push({
        id: `onedrive:${dir.path}`,
        severity: 'warn',
        message: `${dir.path} is inside OneDrive; sync can corrupt state files.`,
      });
    if (dir.error)
      findings.push({ id: `dir-error:${dir.path}`, severity: 'warn', message: `${dir.path}: ${dir.error}` });
  }
  return {
    dirs: scan.dirs.map((d) => ({
      path: d.path,
      source: d.reasons.join(', '),
      exists: d.kind === 'dir',
      active: d.path === scan.active.stateDir,
      notes: [
        ...(d.usedBy.length ? [`used by ${d.usedBy.join(', ')}`] : []),
        ...(d.aliasOf ? [`same directory as ${d.aliasOf}`] : []),
        ...(d.quarantined.length ? [`${d.quarantined.length} corrupt file(s) set aside`] : []),
        `${d.items.length} state item(s)`,
      ],
    })),
    findings,
  };
}

/**
 * Migration as the dashboard offers it: from the first other state directory that holds data into the active
 * one. A dry run only plans; a real run is wrapped by the caller in stopping and restarting the gateway.
 */
export async function migrateIntoActive(
  scan: StateScan,
  dryRun: boolean,
  hooks?: MigrationHooks,
): Promise<MigrationView> {
  const active = scan.active.stateDir;
  const source = scan.dirs.find(
    (d) => d.kind === 'dir' && d.items.length > 0 && !d.aliasOf && d.path !== active && d.realPath !== active,
  );
  if (!source) return { dryRun, applied: false, steps: [] };
  try {
    const result = await migrateState({
      from: source.path,
      to: active,
      dryRun,
      onProgress: hooks?.onProgress,
      signal: hooks?.signal,
    });
    const plan = result.plan;
    return {
      dryRun,
      applied: result.outcome === 'migrated',
      steps: [
        ...plan.warnings.map((w) => ({ action: 'warning', detail: w })),
        ...plan.files
          .filter((f) => f.action !== 'skip')
          .map((f) => ({
            action: f.action,
            from: `${plan.from}/${f.rel}`,
            to: `${plan.to}/${f.rel}`,
            detail: `${f.rel}: ${f.detail}`,
          })),
      ],
    };
  } catch (error) {
    if ((error as { code?: string }).code === 'MIGRATION_CANCELLED')
      return { dryRun, applied: false, steps: [{ action: 'cancelled', detail: (error as Error).message }] };
    const blockers = (error as { plan?: { blockers?: string[] } }).plan?.blockers ?? [(error as Error).message];
    return { dryRun, applied: false, steps: blockers.map((b) => ({ action: 'blocked', detail: b })) };
  }
}
