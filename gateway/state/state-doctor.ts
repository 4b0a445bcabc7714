import { promises as fs } from 'node:fs';
import path from 'node:path';
import { readJsonFile } from '../fs/atomic-file';
import type { KeytarLike } from '../secrets/keytar-backend';
import type { SafeStorageLike } from '../secrets/safe-storage-backend';
import { SecretStoreStatus, describeAttempts, inspectSecretStore } from '../secrets/secret-store';
import { StateItem, TRUST_ITEMS, itemSpec, parsePairedDevices, parserFor, readStateJson } from './state-files';
import { findInterruptedMigrations, readLinkSkippedRecord, recoverInterruptedMigrations } from './state-migration';
import { PathEnvironment, STATE_DIRNAME, envValue, pathApi, samePath } from './state-paths';
import { ScannedDir, ScannedItem, StateScan, scanStateDirs } from './state-scan';
import {
  SafetyProblem,
  checkDirAndAncestors,
  checkTreeEntries,
  clearModeBitsNoFollow,
  linkDestination,
  walkTreeLimited,
} from './state-safety';

/**
 * `clawdesk doctor`: turns a scan into findings, each with a severity and a one-line fix. Read-only unless `fix`
 * is set, and even then it only does what is safe and reversible: move corrupt files aside (never delete), tighten
 * permissions, finish an interrupted migration.
 */

export type Severity = 'error' | 'warn' | 'info';

export interface DoctorFinding {
  code: string;
  severity: Severity;
  message: string;
  fix: string;
  paths: string[];
  /** With --fix: what was done. */
  fixed?: string;
}

export interface DoctorReport {
  version: 1;
  ok: boolean;
  counts: Record<Severity, number>;
  activeStateDir: string;
  source: StateScan['active']['source'];
  configPath: string;
  findings: DoctorFinding[];
  secrets?: SecretStoreStatus;
  scan: StateScan;
}

export interface DoctorOptions {
  profile?: string;
  fix?: boolean;
  /** Canary-probe the keychain (default true). */
  probeKeychain?: boolean;
  keytar?: KeytarLike | null;
  safeStorage?: SafeStorageLike;
  /** Clawdesk's data dir, when not the default for the profile. */
  clawdeskDataDir?: string;
  embeddedGatewayStateDir?: string;
  now?: () => number;
}

const ITEM_LABEL: Record<StateItem, string> = {
  config: 'the config',
  'env-file': 'the .env file',
  identity: 'the device identity',
  'device-auth': 'the device tokens (device-auth.json)',
  'paired-devices': 'the paired devices',
  'pending-devices': 'pending device requests',
  'bootstrap-tokens': 'bootstrap tokens',
  'paired-nodes': 'the paired nodes',
  'pending-nodes': 'pending node requests',
  'node-config': 'the node host config (node.json)',
  'exec-approvals': 'the exec approvals',
  credentials: 'the credentials',
  agents: 'agent data and sessions',
  workspace: 'the workspace',
};

export async function runDoctor(pe: PathEnvironment, options: DoctorOptions = {}): Promise<DoctorReport> {
  const now = options.now ?? Date.now;
  const findings: DoctorFinding[] = [];
  const add = (f: DoctorFinding) => findings.push(f);

  let scan = await scanStateDirs(pe, {
    profile: options.profile,
    embeddedGatewayStateDir: options.embeddedGatewayStateDir,
    now,
  });

  // Interrupted migrations first: everything else would describe a half-swapped state.
  const journalDirs = scan.dirs.map((d) => d.path);
  const interrupted = await findInterruptedMigrations(journalDirs);
  for (const journal of interrupted) {
    const finding: DoctorFinding = {
      code: 'interrupted-migration',
      severity: 'error',
      message: journal.error
        ? `A migration journal is unreadable: ${journal.error}`
        : `A state migration was interrupted (phase ${journal.phase}, pid ${journal.pid}).`,
      fix: journal.error
        ? `Inspect ${journal.journal} by hand; the backups are listed in it.`
        : 'Run `clawdesk doctor --fix` (or rerun the migration) to finish or undo it.',
      paths: [journal.journal],
    };
    if (options.fix && !journal.error) {
      const outcomes = await recoverInterruptedMigrations(journalDirs);
      finding.fixed = outcomes.map((o) => `${o.outcome} (${o.journal})`).join('; ') || 'nothing left to recover';
      scan = await scanStateDirs(pe, {
        profile: options.profile,
        embeddedGatewayStateDir: options.embeddedGatewayStateDir,
        now,
      });
    }
    add(finding);
  }

  const p = pathApi(pe.platform);
  const active = scan.dirs[0];
  const activePath = scan.active.stateDir;
  const isAliasOfActive = (d: ScannedDir) =>
    d === active ||
    d.aliasOf === active.path ||
    (!!d.realPath && !!active.realPath && samePath(pe.platform, d.realPath, active.realPath));
  const has = (d: ScannedDir, item: StateItem) => d.items.find((i) => i.item === item);

  // --- the active dir itself
  if (active.kind === 'missing') {
    add({
      code: 'no-state-dir',
      severity: 'info',
      message: `No OpenClaw state dir at ${activePath} (resolved from ${scan.active.source}).`,
      fix: 'Nothing to do if OpenClaw is not set up yet; otherwise check HOME, OPENCLAW_HOME and OPENCLAW_STATE_DIR.',
      paths: [activePath],
    });
  } else if (active.kind !== 'dir') {
    add({
      code: 'state-dir-unusable',
      severity: 'error',
      message: `The active state dir ${activePath} cannot be used: ${active.error ?? active.kind}.`,
      fix:
        active.kind === 'file'
          ? `Move the file ${activePath} aside, or point OPENCLAW_STATE_DIR at a directory.`
          : `Fix or remove ${activePath}.`,
      paths: [activePath],
    });
  }

  const nested = activePath.split(/[\\/]+/).filter((part) => part === STATE_DIRNAME).length > 1;
  if (nested) {
    add({
      code: 'nested-state-dir',
      severity: 'warn',
      message: `The state dir ${activePath} is nested inside another .openclaw: OPENCLAW_HOME is a home, not a state dir.`,
      fix: `Set OPENCLAW_HOME to the directory that contains .openclaw (or use OPENCLAW_STATE_DIR=${p.dirname(activePath)}).`,
      paths: [activePath],
    });
  }

  // --- other dirs holding state
  const peers = scan.dirs.filter(
    (d) =>
      d !== active &&
      d.kind === 'dir' &&
      !isAliasOfActive(d) &&
      !d.reasons.some((r) => r.startsWith('profile') || r === 'macOS app identity' || r === 'embedded gateway'),
  );
  const splitDirs = new Set<string>();
  for (const peer of peers) {
    const missingHere = TRUST_ITEMS.filter((item) => has(peer, item) && !has(active, item));
    if (peer.path === scan.baselineExecApprovalsDir && scan.active.source === 'env') continue; // reported below
    if (missingHere.length > 0 && active.kind !== 'file') {
      splitDirs.add(peer.path);
      add({
        code: 'split-state',
        severity: 'error',
        message: `Split state: ${missingHere.map((i) => ITEM_LABEL[i]).join(', ')} ${missingHere.length > 1 ? 'are' : 'is'} in ${peer.path}, not in the active state dir ${activePath}.`,
        fix: `clawdesk state migrate --from ${quote(peer.path)} --to ${quote(activePath)}`,
        paths: [peer.path, activePath],
      });
    }
  }

  const baseline = scan.dirs.find((d) => samePath(pe.platform, d.path, scan.baselineExecApprovalsDir));
  if (scan.active.source === 'env' && baseline && baseline.kind === 'dir' && !isAliasOfActive(baseline)) {
    const baselineExec = has(baseline, 'exec-approvals');
    const activeExec = has(active, 'exec-approvals');
    const otherTrust = TRUST_ITEMS.filter((i) => i !== 'exec-approvals' && has(baseline, i) && !has(active, i));
    if (baselineExec) {
      add({
        code: 'split-exec-approvals',
        severity: activeExec ? 'warn' : 'error',
        message: activeExec
          ? `Two exec-approvals files: ${baselineExec.path} and ${activeExec.path}. Older OpenClaw releases read the first (they ignore OPENCLAW_STATE_DIR for approvals), newer ones the second.`
          : `Exec approvals are in ${baselineExec.path} while OPENCLAW_STATE_DIR points to ${activePath}: older OpenClaw releases use one, newer ones the other.`,
        fix: `clawdesk state migrate --from ${quote(baseline.path)} --to ${quote(activePath)}`,
        paths: [baselineExec.path, ...(activeExec ? [activeExec.path] : [])],
      });
      splitDirs.add(baseline.path);
    }
    if (otherTrust.length > 0) {
      splitDirs.add(baseline.path);
      add({
        code: 'split-state',
        severity: 'error',
        message: `Split state: ${otherTrust.map((i) => ITEM_LABEL[i]).join(', ')} ${otherTrust.length > 1 ? 'are' : 'is'} in ${baseline.path}, not in the active state dir ${activePath}.`,
        fix: `clawdesk state migrate --from ${quote(baseline.path)} --to ${quote(activePath)}`,
        paths: [baseline.path, activePath],
      });
    }
  }

  for (const peer of peers) {
    if (splitDirs.has(peer.path)) continue;
    const retired = peer.reasons.find((r) => r.startsWith('retired'));
    const legacy = peer.reasons.find((r) => r.startsWith('legacy'));
    if (legacy || retired) {
      add({
        code: 'legacy-dir',
        severity: 'warn',
        message: retired
          ? `Old state dir ${peer.path}: OpenClaw no longer reads it, so anything in it is invisible.`
          : `Legacy state dir ${peer.path} exists beside the active ${activePath}.`,
        fix: `clawdesk state migrate --from ${quote(peer.path)} --to ${quote(activePath)}`,
        paths: [peer.path],
      });
    } else if (peer.items.length > 0) {
      add({
        code: 'multiple-state-dirs',
        severity: 'warn',
        message: `Multiple state directories: ${peer.path} (${peer.reasons.join(', ')}) also holds OpenClaw state; history and pairing can split.`,
        fix: `clawdesk state migrate --from ${quote(peer.path)} --to ${quote(activePath)}`,
        paths: [peer.path, activePath],
      });
    }
  }
  if (scan.active.source === 'legacy') {
    const target = p.join(scan.home, STATE_DIRNAME);
    add({
      code: 'legacy-dir',
      severity: 'warn',
      message: `OpenClaw is using the legacy state dir ${activePath}.`,
      fix: `clawdesk state migrate --from ${quote(activePath)} --to ${quote(target)}`,
      paths: [activePath],
    });
  }

  for (const d of scan.dirs) {
    if (d.kind === 'symlink-loop' || d.kind === 'broken-symlink' || (d.kind === 'unreadable' && d !== active)) {
      add({
        code: d.kind === 'unreadable' ? 'unreadable-dir' : 'bad-link',
        severity: d === active ? 'error' : 'warn',
        message: `${d.path}: ${d.error ?? d.kind}.`,
        fix:
          d.kind === 'unreadable'
            ? `Check the permissions of ${d.path}.`
            : `Remove the link ${d.path} or point it at a real directory.`,
        paths: [d.path],
      });
    }
    if (d.reasons.includes('macOS app identity') && has(d, 'identity')) {
      add({
        code: 'macos-app-identity',
        severity: 'info',
        message: `The macOS app keeps its own device identity in ${d.path}.`,
        fix: `To give Clawdesk that identity (same deviceId, no re-pairing): clawdesk state import-identity ${quote(has(d, 'identity')!.path)}`,
        paths: [has(d, 'identity')!.path],
      });
    }
    if (d.inOneDrive && (d === active || d.items.length > 0)) {
      add({
        code: 'onedrive-state-dir',
        severity: 'warn',
        message: `${d.path} is inside a OneDrive folder: sync can duplicate or roll back trust files and leave "online-only" placeholders.`,
        fix: 'Set OPENCLAW_STATE_DIR to a folder outside OneDrive and migrate into it.',
        paths: [d.path],
      });
    }
  }

  // --- Windows: a HOME from Git Bash/MSYS moves the state dir away from the profile dir
  if (pe.platform === 'win32') {
    const home = envValue(pe, 'HOME');
    const profile = envValue(pe, 'USERPROFILE');
    if (
      home &&
      profile &&
      !samePath('win32', p.resolve(home), p.resolve(profile)) &&
      !envValue(pe, 'OPENCLAW_STATE_DIR') &&
      !envValue(pe, 'OPENCLAW_HOME')
    ) {
      const profileDir = p.join(profile, STATE_DIRNAME);
      if (!samePath('win32', profileDir, activePath) && pe.exists(profileDir)) {
        add({
          code: 'home-moves-state-dir',
          severity: 'warn',
          message: `HOME=${home} (set by Git Bash/MSYS?) makes OpenClaw use ${activePath}; programs started without it use ${profileDir}.`,
          fix: `Set OPENCLAW_STATE_DIR=${profileDir} for every tool (or unset HOME in that shell).`,
          paths: [activePath, profileDir],
        });
      }
    }
  }

  const defaultDir = scan.dirs.find((d) => samePath(pe.platform, d.path, scan.baselineExecApprovalsDir));
  if (defaultDir?.isLink && defaultDir.kind === 'dir') {
    add({
      code: 'linked-default-dir',
      severity: 'info',
      message: `${defaultDir.path} is a link to ${defaultDir.realPath}. OpenClaw releases before PR #92056 refuse to write exec-approvals.json through it.`,
      fix: `If approvals fail to save, set OPENCLAW_STATE_DIR=${defaultDir.realPath} for OpenClaw.`,
      paths: [defaultDir.path],
    });
  }

  // --- files in every dir that holds state
  for (const d of scan.dirs) {
    if (d.kind !== 'dir' || (d !== active && isAliasOfActive(d))) continue;
    for (const item of d.items) await fileFindings(item, add, options, pe);
    if (d.quarantined.length > 0) {
      add({
        code: 'quarantined-files',
        severity: 'info',
        message: `${d.quarantined.length} corrupt file(s) were moved aside earlier in ${d.path}: ${d.quarantined.join(', ')}.`,
        fix: 'Compare them with the current files; delete them once nothing in them is needed.',
        paths: d.quarantined.map((q) => p.join(d.path, q)),
      });
    }
    if (pe.platform !== 'win32' && d.mode !== undefined && (d.mode & 0o022) !== 0 && d.items.length > 0) {
      await permissionFinding(
        d.path,
        d.mode,
        0o077,
        `${d.path} is writable by other users (mode ${octal(d.mode)}).`,
        'warn',
        add,
        options,
      );
    }
    if (d === active || d.items.length > 0) await safetyFindings(d, add, options, pe);
    identityFindings(d, add);
    const pending = d.items.filter(
      (i) => (i.item === 'pending-devices' || i.item === 'pending-nodes') && (i.expiredEntries ?? 0) > 0,
    );
    for (const item of pending) {
      add({
        code: 'stale-pending-pairing',
        severity: 'warn',
        message: `${item.expiredEntries} pairing request(s) in ${item.path} are older than 5 minutes and can no longer be approved.`,
        fix: 'Reconnect the device to create a fresh request, then approve it (OpenClaw drops expired ones on its next load).',
        paths: [item.path],
      });
    }
    await stalePairingFinding(d, add);
  }

  // --- Clawdesk's own secrets
  let secrets: SecretStoreStatus | undefined;
  try {
    secrets = await inspectSecretStore({
      dir: options.clawdeskDataDir ?? scan.clawdeskDataDir,
      keytar: options.keytar,
      safeStorage: options.safeStorage,
      probe: options.probeKeychain !== false,
      platform: pe.platform,
      canaryTimeoutMs: 10_000,
    });
    secretFindings(secrets, add);
  } catch (error) {
    add({
      code: 'secret-store-unreadable',
      severity: 'warn',
      message: `Could not inspect Clawdesk's secret store: ${(error as Error).message}`,
      fix: 'Check the data dir permissions.',
      paths: [],
    });
  }

  // A migration that finished without the link at the old location (it could not be made, and OPENCLAW_STATE_DIR
  // already pointed here): a note while that still holds, a warning once OpenClaw would look elsewhere.
  const linkSkipped = await readLinkSkippedRecord(activePath);
  if (linkSkipped) {
    const stillPointed = scan.active.source === 'env';
    add({
      code: 'migration-link-skipped',
      severity: stillPointed ? 'info' : 'warn',
      message: `${linkSkipped.from} was migrated into ${activePath} without a ${linkSkipped.link} at its old location (${linkSkipped.reason}).`,
      fix: stillPointed
        ? 'Nothing to do while OPENCLAW_STATE_DIR points here; keep it set for every tool that uses OpenClaw state.'
        : `Set OPENCLAW_STATE_DIR=${activePath} so OpenClaw finds this state dir.`,
      paths: [linkSkipped.from, activePath],
    });
  }

  for (const d of scan.dirs) if (d.names && d.names.problems.length > 0) nameFindings(d, add);

  const open = findings.filter((f) => !f.fixed);
  const counts: Record<Severity, number> = { error: 0, warn: 0, info: 0 };
  for (const f of open) counts[f.severity]++;
  const order: Record<Severity, number> = { error: 0, warn: 1, info: 2 };
  findings.sort((a, b) => order[a.severity] - order[b.severity]);
  return {
    version: 1,
    ok: counts.error === 0,
    counts,
    activeStateDir: activePath,
    source: scan.active.source,
    configPath: scan.active.configPath,
    findings,
    secrets,
    scan,
  };
}

async function fileFindings(
  item: ScannedItem,
  add: (f: DoctorFinding) => void,
  options: DoctorOptions,
  pe: PathEnvironment,
): Promise<void> {
  const spec = itemSpec(item.item);
  if (item.status === 'corrupt') {
    const finding: DoctorFinding = {
      code: 'corrupt-json',
      severity: 'error',
      message: `${item.error}.`,
      fix:
        item.item === 'config'
          ? `Fix the syntax in ${item.path} (OpenClaw will not start with a broken config).`
          : `Run \`clawdesk doctor --fix\` to move it aside to ${item.path}.corrupt-<time> (never deleted), or restore it from a backup.`,
      paths: [item.path],
    };
    if (options.fix && item.item !== 'config' && spec.kind === 'json') {
      const moved = await readJsonFile(item.path, { parse: parserFor(item.item) }).catch(() => undefined);
      if (moved?.kind === 'corrupt' && moved.quarantinedTo) finding.fixed = `moved to ${moved.quarantinedTo}`;
    }
    add(finding);
    return;
  }
  if (item.status === 'unreadable') {
    add({
      code: 'unreadable-file',
      severity: 'error',
      message: `${item.path} cannot be read: ${item.error}.`,
      fix: `Check its owner and permissions (chmod 600 ${quote(item.path)}).`,
      paths: [item.path],
    });
    return;
  }
  if (pe.platform === 'win32' || !spec.secret) return;
  if ((item.mode & 0o077) !== 0) {
    const severity: Severity = item.item === 'identity' || item.item === 'device-auth' ? 'error' : 'warn';
    await permissionFinding(
      item.path,
      item.mode,
      0o077,
      `${item.path} is readable by other users (mode ${octal(item.mode)}); it holds ${ITEM_LABEL[item.item]}.`,
      severity,
      add,
      options,
    );
  }
}

/**
 * A loose-permissions finding; with --fix, clears exactly `clearBits` (group/other bits) and nothing else, without
 * following a link: a link is reported (the mode shown was its target's), never changed.
 */
async function permissionFinding(
  file: string,
  mode: number,
  clearBits: number,
  message: string,
  severity: Severity,
  add: (f: DoctorFinding) => void,
  options: DoctorOptions,
): Promise<void> {
  const finding: DoctorFinding = {
    code: 'loose-permissions',
    severity,
    message,
    fix: `chmod ${symbolicClear(clearBits)} ${quote(file)} (or clawdesk doctor --fix)`,
    paths: [file],
  };
  const link = await fs.lstat(file).then(
    (st) => st.isSymbolicLink(),
    () => false,
  );
  if (link) {
    const target = await fs.readlink(file).catch(() => '?');
    finding.message += ` It is a symbolic link to ${target}: the mode is its target's.`;
    finding.fix = `Check what ${target} is; doctor --fix never changes a link's target. Replace the link with a private copy if it should hold your state.`;
  }
  if (options.fix) {
    try {
      const result = await clearModeBitsNoFollow(file, clearBits);
      if (result.outcome === 'changed') finding.fixed = `mode ${octal4(result.before!)} → ${octal4(result.after!)}`;
      else if (result.outcome === 'unchanged') finding.fixed = `mode ${octal4(result.before!)} already right`;
      else if (result.outcome === 'is-link')
        finding.message += ' Not changed: doctor --fix does not follow symbolic links.';
      else if (result.outcome === 'not-file-or-dir')
        finding.message += ' Not changed: it is not a regular file or directory (or it changed while being checked).';
    } catch (error) {
      finding.message += ` (fix failed: ${(error as Error).message})`;
    }
  }
  add(finding);
}

function symbolicClear(bits: number): string {
  const who = (shift: number, letter: string) => {
    const b = (bits >> shift) & 0o7;
    const perms = `${b & 4 ? 'r' : ''}${b & 2 ? 'w' : ''}${b & 1 ? 'x' : ''}`;
    return perms ? `${letter}-${perms}` : '';
  };
  return [who(3, 'g'), who(0, 'o')].filter(Boolean).join(',') || 'go-rwx';
}

function octal4(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(mode & 0o7000 ? 4 : 3, '0');
}

const SAFETY_WALK_LIMIT = 20_000;

/**
 * What `state migrate` would refuse in this dir, as findings: a foreign owner, a directory above it that another
 * user can write to, links leading out of it or standing where trust state belongs, subdirectories others can write.
 */
async function safetyFindings(
  d: ScannedDir,
  add: (f: DoctorFinding) => void,
  options: DoctorOptions,
  pe: PathEnvironment,
): Promise<void> {
  if (pe.platform !== process.platform) return; // a simulated platform: nothing real to look at
  const real = d.realPath ?? d.path;
  const problems: SafetyProblem[] = [];
  try {
    problems.push(
      ...(await checkDirAndAncestors(d.path, { platform: pe.platform })).filter((p) => p.kind !== 'writable-dir'),
    );
    const { entries } = await walkTreeLimited(real, SAFETY_WALK_LIMIT);
    problems.push(
      ...(await checkTreeEntries(real, entries, { platform: pe.platform })).filter(
        (p) => p.kind !== 'writable-trust-file',
      ),
    );
  } catch (error) {
    add({
      code: 'unsafe-state-dir',
      severity: 'warn',
      message: `Could not check who can change ${d.path}: ${(error as Error).message}.`,
      fix: `Check the owner and permissions of ${d.path} and the directories above it.`,
      paths: [d.path],
    });
    return;
  }
  const foreign = problems.filter((p) => p.kind === 'foreign-owner');
  if (foreign.length > 0) {
    add({
      code: 'foreign-owner',
      severity: 'error',
      message: `${d.path} holds state another user controls: ${foreign
        .slice(0, 3)
        .map((p) => p.message)
        .join('; ')}${foreign.length > 3 ? `; and ${foreign.length - 3} more` : ''}.`,
      fix: `Do not use or migrate it. If it is yours, take it back: chown -R "$(id -u)" ${quote(real)} — after checking its contents.`,
      paths: foreign.map((p) => p.path),
    });
  }
  for (const p of problems.filter((x) => x.kind === 'writable-ancestor' || x.kind === 'foreign-ancestor')) {
    add({
      code: 'writable-ancestor',
      severity: 'error',
      message: `${p.message}.`,
      fix:
        p.kind === 'writable-ancestor'
          ? `chmod go-w ${quote(p.path)}, or move the state dir somewhere only you can change.`
          : `Move the state dir out of ${quote(p.path)}.`,
      paths: [p.path, d.path],
    });
  }
  for (const p of problems.filter((x) => x.kind === 'trust-path-link' || x.kind === 'link-leaves-tree')) {
    const rel = path.relative(real, p.path);
    const where = await linkDestination(real, rel.split(path.sep).join('/')).catch(() => undefined);
    const trust = p.kind === 'trust-path-link';
    const leaves = !where || !where.inside;
    add({
      code: trust ? 'trust-path-link' : 'link-leaves-tree',
      severity: trust && leaves ? 'error' : 'warn',
      message: `${p.message}.${trust ? ' `clawdesk state migrate` refuses a source like this, and OpenClaw writes its trust files through the link.' : ' A migration does not carry it over.'}`,
      fix: trust
        ? `Replace the link with a real ${rel.includes(path.sep) || rel.endsWith('.json') ? 'file' : 'directory'} holding what it should (copy from ${where?.resolved ?? 'its target'} after checking it).`
        : `Remove the link if nothing needs it, or move what it points to into the state dir.`,
      paths: [p.path],
    });
  }
  // Trust items are checked (and fixed) by fileFindings already.
  const itemRels = new Set(d.items.map((i) => path.relative(d.path, i.path)));
  for (const p of problems.filter((x) => x.kind === 'writable-dir' && !itemRels.has(path.relative(real, x.path)))) {
    const mode = await fs.lstat(p.path).then(
      (st) => st.mode,
      () => 0,
    );
    const finding: DoctorFinding = {
      code: 'loose-permissions',
      severity: 'warn',
      message: `${p.message}.`,
      fix: `chmod go-w ${quote(p.path)} (or clawdesk doctor --fix)`,
      paths: [p.path],
    };
    if (options.fix) {
      const result = await clearModeBitsNoFollow(p.path, 0o022).catch((error: Error) => error);
      if (result instanceof Error) finding.message += ` (fix failed: ${result.message})`;
      else if (result.outcome === 'changed')
        finding.fixed = `mode ${octal4(result.before ?? mode)} → ${octal4(result.after!)}`;
      else if (result.outcome === 'is-link')
        finding.message += ' Not changed: doctor --fix does not follow symbolic links.';
    }
    add(finding);
  }
}

/** The "device token mismatch" loop: tokens kept for an identity that was since regenerated. */
function identityFindings(d: ScannedDir, add: (f: DoctorFinding) => void): void {
  const identity = d.items.find((i) => i.item === 'identity' && i.status === 'ok');
  const auth = d.items.find((i) => i.item === 'device-auth' && i.status === 'ok');
  if (identity?.derivedDeviceId && identity.deviceId && identity.deviceId !== identity.derivedDeviceId) {
    add({
      code: 'identity-id-mismatch',
      severity: 'warn',
      message: `${identity.path} names deviceId ${short(identity.deviceId)} but its key gives ${short(identity.derivedDeviceId)}; OpenClaw will rewrite it, and gateways know it as ${short(identity.derivedDeviceId)}.`,
      fix: 'Nothing to do unless a gateway paired the wrong id; then remove that pairing and approve the device again.',
      paths: [identity.path],
    });
  }
  const current = identity?.derivedDeviceId ?? identity?.deviceId;
  if (identity && auth?.deviceId && current && auth.deviceId !== current) {
    add({
      code: 'identity-regenerated',
      severity: 'error',
      message: `The device identity in ${d.path} was regenerated (now ${short(current)}) while tokens for the old one (${short(auth.deviceId)}) are kept: gateways answer "device token mismatch" until the new identity is paired.`,
      fix: `Pair the new identity (openclaw devices list / approve on the gateway), remove the old device ${short(auth.deviceId)} there, and delete ${auth.path} — keep the keypair.`,
      paths: [identity.path, auth.path],
    });
  }
}

/** A local gateway's paired.json that still pairs this dir's old identity but not the current one. */
async function stalePairingFinding(d: ScannedDir, add: (f: DoctorFinding) => void): Promise<void> {
  const identity = d.items.find((i) => i.item === 'identity' && i.status === 'ok');
  const auth = d.items.find((i) => i.item === 'device-auth' && i.status === 'ok');
  const paired = d.items.find((i) => i.item === 'paired-devices' && i.status === 'ok');
  const current = identity?.derivedDeviceId ?? identity?.deviceId;
  if (!identity || !auth?.deviceId || !paired || !current || auth.deviceId === current) return;
  const read = await readStateJson(paired.path, { parse: parsePairedDevices });
  if (read.kind !== 'ok') return;
  if (read.value[auth.deviceId] && !read.value[current]) {
    add({
      code: 'stale-pairing',
      severity: 'warn',
      message: `The gateway state in ${d.path} still pairs the old identity ${short(auth.deviceId)}, not the current ${short(current)}.`,
      fix: `openclaw devices remove ${auth.deviceId} — then approve the current identity's request.`,
      paths: [paired.path],
    });
  }
}

function secretFindings(s: SecretStoreStatus, add: (f: DoctorFinding) => void): void {
  const probe = s.probes[s.probes.length - 1];
  const backendName = (b?: string) =>
    b === 'keytar'
      ? 'the OS keychain (keytar)'
      : b === 'safe-storage'
        ? "Electron's safeStorage"
        : b === 'plaintext-file'
          ? 'a 0600 key file (weak mode)'
          : 'nothing yet';
  if (s.vault === 'corrupt') {
    add({
      code: 'secret-vault-corrupt',
      severity: 'error',
      message: `Clawdesk's secret vault is damaged: ${s.vaultError}`,
      fix: `Restore ${s.dir} from a backup; Clawdesk will not overwrite it.`,
      paths: [s.dir],
    });
    return;
  }
  if (s.vault === 'missing') {
    if (s.identityDeviceId) {
      add({
        code: 'identity-vault-missing',
        severity: 'error',
        message: `Clawdesk's device identity ${short(s.identityDeviceId)} was recorded, but its secret vault is gone from ${s.dir}.`,
        fix: 'Restore the vault from a backup; creating a new identity means pairing this device again everywhere.',
        paths: [s.dir],
      });
    }
    const ok = s.probes.find((a) => a.outcome === 'ok');
    add({
      code: 'secret-store',
      severity: ok || s.probes.length === 0 ? 'info' : 'warn',
      message: ok
        ? `Secret store not set up yet; Clawdesk will use ${backendName(ok.backend)}.`
        : s.probes.length === 0
          ? 'Secret store not set up yet (keychain not probed).'
          : `Secret store not set up yet, and no protected backend works: ${describeAttempts(s.probes)}.`,
      fix:
        ok || s.probes.length === 0
          ? 'Nothing to do.'
          : 'Unlock or start a keychain (on Linux: a Secret Service such as gnome-keyring), or accept the weaker 0600 file mode when Clawdesk asks.',
      paths: [s.dir],
    });
    return;
  }
  if (probe && probe.outcome !== 'ok') {
    add({
      code: probe.outcome === 'locked' ? 'secret-store-locked' : 'secret-store-unavailable',
      severity: 'error',
      message: `Clawdesk's secrets${s.identityDeviceId ? ` (including device identity ${short(s.identityDeviceId)})` : ''} are in ${backendName(s.backend)}, which is ${probe.outcome === 'locked' ? 'locked' : 'unavailable'}: ${probe.detail}.`,
      fix:
        probe.outcome === 'locked'
          ? 'Unlock the keychain (log in to the desktop session), then retry. Clawdesk will not create a new identity meanwhile.'
          : 'Start the keychain service (Linux: a D-Bus session with gnome-keyring), then retry.',
      paths: [s.dir],
    });
    return;
  }
  if (s.weak) {
    const accepted = s.record?.plaintextAcceptedAtMs
      ? ` (accepted ${new Date(s.record.plaintextAcceptedAtMs).toISOString()})`
      : '';
    add({
      code: 'secret-store-weak',
      severity: 'warn',
      message: `Clawdesk's secrets are protected only by a key in a 0600 file${accepted}: anything running as you can read them.`,
      fix: 'Make a keychain available (Linux: Secret Service/gnome-keyring; or run the desktop app); Clawdesk moves the key into it on the next start.',
      paths: [s.dir],
    });
    return;
  }
  add({
    code: 'secret-store',
    severity: 'info',
    message: `Clawdesk's secrets are in ${backendName(s.backend)}${probe ? ' (canary write/read/delete passed)' : ''}${s.identityDeviceId ? `; device identity ${short(s.identityDeviceId)}` : ''}.`,
    fix: 'Nothing to do.',
    paths: [s.dir],
  });
}

function octal(mode: number): string {
  return (mode & 0o777).toString(8).padStart(3, '0');
}

function short(id: string): string {
  return id.length > 16 ? `${id.slice(0, 12)}…` : id;
}

/** Quotes a path for a copy-pasteable command line when it has spaces or shell characters. */
export function quote(p: string): string {
  return /^[\w@%+=:,./\\-]+$/.test(p) ? p : `"${p.replace(/(["\\$`])/g, '\\$1')}"`;
}

/**
 * Names that cannot exist on Windows or collide on a case-insensitive volume: a warning where they already break the
 * dir on its own volume (Windows cannot open them, or two files there are one), a note otherwise (a migration to
 * Windows, an exFAT/NTFS disk or a default macOS volume would refuse the dir until they are renamed).
 */
function nameFindings(d: ScannedDir, add: (f: DoctorFinding) => void): void {
  const report = d.names!;
  const here = report.problems.filter((p) => p.appliesHere);
  const listed = (ps: typeof report.problems) =>
    ps
      .slice(0, 5)
      .map((p) => `${p.rel}${p.collidesWith ? ` (vs ${p.collidesWith})` : ''}: ${p.reason}`)
      .join('; ') + (ps.length > 5 ? `; and ${ps.length - 5} more` : '');
  if (here.length > 0) {
    add({
      code: 'unusable-names',
      severity: 'warn',
      message: `${d.path} holds names that do not work on its own volume (${report.rules.because}): ${listed(here)}.`,
      fix: 'Rename them from the system that created them (Linux or WSL): OpenClaw cannot read them here, or reads one file for two.',
      paths: here.map((p) => p.path),
    });
  }
  const elsewhere = report.problems.filter((p) => !p.appliesHere);
  if (elsewhere.length > 0) {
    add({
      code: 'unportable-names',
      severity: 'info',
      message: `${d.path} holds names that cannot exist on Windows or collide on a case-insensitive volume: ${listed(elsewhere)}.`,
      fix: '`clawdesk state migrate` to Windows, a FAT/exFAT/NTFS/SMB volume or a default macOS volume refuses this dir until they are renamed; nothing to do otherwise.',
      paths: elsewhere.map((p) => p.path),
    });
  }
}
