/**
 * Redaction of secrets in a parsed OpenClaw config before it leaves the gateway (`config.get` answers any
 * `operator.read` client). Secrets are recognised three ways:
 *
 *  1. by key: values under secret-looking names (`token`, `password`, `apiKey`, `*_KEY`, `Authorization`,
 *     `cookie`, `credentials`, `*SECRET_ACCESS_KEY`, ...) are replaced whole, including arrays and objects under them;
 *  2. by value, anywhere: bearer/basic credentials, well-known token formats (`sk-…`, `ghp_…`, `github_pat_…`,
 *     `xox?-…`, AWS access key ids, JWTs, PEM blocks, ...), the password in `scheme://user:password@host`, a
 *     token-like user in `scheme://token@host`, and secret-named query parameters;
 *  3. by place: every value of an environment map (an object under `env` or `environment`) unless it is obviously
 *     harmless (a boolean, a number, an empty string, a `${VAR}` reference, or a well-known non-secret variable).
 *
 * Whole values become REDACTION_MARKER; secrets inside a longer string are replaced in place. Nothing here mutates
 * its input, and the result never inherits a client-controlled prototype.
 */

export const REDACTION_MARKER = '__OPENCLAW_REDACTED__';

/** Deeper than this, a config is not plausible: the rest is replaced rather than walked (fail closed). */
const MAX_DEPTH = 64;

/** Names, lower-cased with separators removed, whose values are secrets when the name ends with one of these. */
const SECRET_NAME_ENDINGS = [
  'token',
  'tokens',
  'password',
  'passwords',
  'passwd',
  'passphrase',
  'pwd',
  'secret',
  'secrets',
  'apikey',
  'apikeys',
  'key',
  'keys',
  'credential',
  'credentials',
  'creds',
  'authorization',
  'cookie',
  'cookies',
  'sessionid',
  'signature',
  'privatekeypem',
  'dsn',
];

/** Names that end like a secret but hold something else (counts, public material, key bindings). */
const NOT_SECRET_NAMES = new Set([
  'publickey',
  'publickeypem',
  'hotkey',
  'hotkeys',
  'shortcutkey',
  'sortkey',
  'mainkey',
  'primarykey',
  'foreignkey',
  'partitionkey',
  'keys', // a plain "keys" list is usually key names; values under it still go through the value patterns
]);
const COUNT_LIKE = /(max|min|context|reserve|reserved|num|total|output|input|prompt|completion)tokens?$/;

function normalizeName(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]/g, '');
}

/** Whether values under `name` are secrets. */
export function isSecretKey(name: string): boolean {
  const n = normalizeName(name);
  if (!n || NOT_SECRET_NAMES.has(n) || COUNT_LIKE.test(n)) return false;
  return SECRET_NAME_ENDINGS.some((ending) => n.endsWith(ending));
}

/** Objects under these names are environment maps: their values are secrets unless obviously harmless. */
function isEnvMapKey(name: string): boolean {
  const n = normalizeName(name);
  return n === 'env' || n === 'environment' || n === 'envvars' || n === 'environmentvariables';
}

/** Variables whose values are not secrets (paths, locale, modes), shown unless a value pattern says otherwise. */
const HARMLESS_ENV_NAMES = new Set([
  'PATH',
  'HOME',
  'LANG',
  'LANGUAGE',
  'TZ',
  'NODE_ENV',
  'TERM',
  'SHELL',
  'USER',
  'LOGNAME',
  'EDITOR',
  'VISUAL',
  'PAGER',
  'TMPDIR',
  'TEMP',
  'TMP',
  'LOG_LEVEL',
  'DEBUG',
  'NO_COLOR',
  'FORCE_COLOR',
  'COLORTERM',
  'CI',
]);

function isHarmlessEnvName(name: string): boolean {
  return HARMLESS_ENV_NAMES.has(name) || /^(LC_[A-Z]+|XDG_[A-Z_]+_(DIR|HOME|DIRS))$/.test(name);
}

/** A value no one can use as a credential. */
function isObviouslyHarmless(value: string): boolean {
  const v = value.trim();
  return (
    v === '' ||
    /^(true|false|yes|no|on|off|null|none)$/i.test(v) ||
    /^-?\d{1,10}(\.\d+)?$/.test(v) ||
    /^\$\{[A-Za-z_][A-Za-z0-9_]*\}$/.test(v)
  );
}

// --- value patterns ------------------------------------------------------------------------------------------

interface ValuePattern {
  pattern: RegExp;
  /** Replaces one match; by default the whole match becomes the marker. */
  replace?: (match: string, ...groups: string[]) => string;
}

const VALUE_PATTERNS: ValuePattern[] = [
  // PEM blocks (private keys, certificates, anything armoured), even when truncated.
  { pattern: /-----BEGIN [A-Z0-9 ]+-----[\s\S]*?(?:-----END [A-Z0-9 ]+-----|$)/g },
  // HTTP credentials: keep the scheme word. Prose ("Basic settings") is left alone: a credential has a digit or a
  // symbol, or mixes cases over 12+ characters.
  {
    pattern: /\b(Bearer|Basic)(\s+)([A-Za-z0-9._~+/=:-]{8,})/gi,
    replace: (match, scheme, gap, credential) =>
      /[0-9._~+/=:-]/.test(credential) ||
      (credential.length >= 12 && /[a-z]/.test(credential) && /[A-Z]/.test(credential))
        ? `${scheme}${gap}${REDACTION_MARKER}`
        : match,
  },
  // JSON Web Tokens.
  { pattern: /\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g },
  // Provider keys.
  { pattern: /\bsk-[A-Za-z0-9_-]{16,}/g },
  { pattern: /\bgh[pousr]_[A-Za-z0-9]{20,}/g },
  { pattern: /\bgithub_pat_[A-Za-z0-9_]{20,}/g },
  { pattern: /\bglpat-[A-Za-z0-9_-]{20,}/g },
  { pattern: /\bxox[a-z]-[A-Za-z0-9-]{10,}/g },
  { pattern: /\bxapp-[A-Za-z0-9-]{10,}/g },
  { pattern: /\b[rsp]k_(?:live|test)_[A-Za-z0-9]{16,}/g },
  { pattern: /\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b/g },
  { pattern: /\bAIza[0-9A-Za-z_-]{35}/g },
  { pattern: /\bnpm_[A-Za-z0-9]{36}/g },
  { pattern: /\bhf_[A-Za-z0-9]{30,}/g },
  { pattern: /\bya29\.[A-Za-z0-9_-]{20,}/g },
  // scheme://user:password@host → the password; scheme://longtoken@host → the token.
  {
    pattern: /\b([a-z][a-z0-9+.-]*:\/\/)([^\s:/?#@'"]*):([^\s/?#@'"]+)@/gi,
    replace: (_m, scheme, user) => `${scheme}${user}:${REDACTION_MARKER}@`,
  },
  {
    pattern: /\b([a-z][a-z0-9+.-]*:\/\/)([A-Za-z0-9_-]{16,})@/gi,
    replace: (_m, scheme) => `${scheme}${REDACTION_MARKER}@`,
  },
  // ?token=…&api_key=… (and the same as NAME=value inside a longer string).
  {
    pattern: /([?&;\s]|^)([A-Za-z0-9_.-]+)=([^&\s#'"]+)/g,
    replace: (match, pre, name) => (isSecretKey(name) ? `${pre}${name}=${REDACTION_MARKER}` : match),
  },
];

/** Redacts secrets found by their form inside a string; returns the new string and how many were found. */
export function redactSecretText(text: string, marker = REDACTION_MARKER): { text: string; redactions: number } {
  let redactions = 0;
  let out = text;
  for (const { pattern, replace } of VALUE_PATTERNS) {
    out = out.replace(pattern, (match: string, ...rest: unknown[]) => {
      const groups = rest.slice(0, -2) as string[];
      const replaced = replace ? replace(match, ...groups) : REDACTION_MARKER;
      if (replaced !== match) redactions++;
      return replaced;
    });
  }
  if (marker !== REDACTION_MARKER) out = out.split(REDACTION_MARKER).join(marker);
  return { text: out, redactions };
}

// --- the walk ---------------------------------------------------------------------------------------------

function defineOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  // Plain assignment of "__proto__" would change the result's prototype instead of adding a key.
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Everything under a secret key: strings and numbers become the marker; structure, booleans and null stay. */
function redactWhole(value: unknown, depth: number): unknown {
  if (depth > MAX_DEPTH) return REDACTION_MARKER;
  if (typeof value === 'string')
    return value === '' || /^\$\{[A-Za-z_][A-Za-z0-9_]*\}$/.test(value) ? value : REDACTION_MARKER;
  if (typeof value === 'number' || typeof value === 'bigint') return REDACTION_MARKER;
  if (Array.isArray(value)) return value.map((v) => redactWhole(v, depth + 1));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) defineOwn(out, k, redactWhole(v, depth + 1));
    return out;
  }
  return value;
}

/** An environment map: every string value is a secret unless obviously harmless; nested maps likewise. */
function redactEnvMap(value: unknown, depth: number, name: string): unknown {
  if (depth > MAX_DEPTH) return REDACTION_MARKER;
  if (typeof value === 'string') {
    if (isSecretKey(name)) return redactWhole(value, depth);
    if (isObviouslyHarmless(value)) return value;
    if (isHarmlessEnvName(name)) return redactSecretText(value).text;
    return REDACTION_MARKER;
  }
  if (Array.isArray(value)) return value.map((v) => redactEnvMap(v, depth + 1, name));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) defineOwn(out, k, redactEnvMap(v, depth + 1, k));
    return out;
  }
  return value;
}

function walk(value: unknown, depth: number): unknown {
  if (depth > MAX_DEPTH) return REDACTION_MARKER;
  if (typeof value === 'string') return redactSecretText(value).text;
  if (Array.isArray(value)) return value.map((v) => walk(v, depth + 1));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) {
      let redacted: unknown;
      if (isSecretKey(key)) redacted = redactWhole(inner, depth + 1);
      else if (isEnvMapKey(key) && inner && typeof inner === 'object') redacted = redactEnvMap(inner, depth + 1, key);
      else redacted = walk(inner, depth + 1);
      defineOwn(out, key, redacted);
    }
    return out;
  }
  return value;
}

/**
 * A copy of a parsed config with every secret replaced by REDACTION_MARKER (see the module comment). Safe to send
 * to any client that may read the config; `config.get` still hashes the raw file, not this.
 */
export function redactConfigSecrets(value: unknown): unknown {
  return walk(value, 0);
}
