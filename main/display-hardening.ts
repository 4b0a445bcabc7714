/**
 * Makes untrusted text (a command an agent wants to run, its directory, its environment) safe to show to a
 * person who must decide on it: nothing invisible, nothing that reorders text, nothing that impersonates ASCII
 * without being called out, and no secrets on screen. Pure functions: the approval dialog, the notification and
 * the dashboard all use the same rendering.
 */

export type DisplayFlag = 'control' | 'bidi' | 'invisible' | 'unusual-space' | 'confusable' | 'non-ascii';

export interface ConfusableHit {
  char: string;
  codePoint: string;
  looksLike: string;
  script: string;
}

export interface HardenedText {
  /** The text with every dangerous character replaced by a visible ⟨…⟩ marker. */
  text: string;
  flags: DisplayFlag[];
  confusables: ConfusableHit[];
}

const BIDI = new Set([0x061c, 0x200e, 0x200f, 0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069]);

const NAMED: Record<number, string> = {
  0x09: 'TAB',
  0x0a: 'LF',
  0x0d: 'CR',
  0x1b: 'ESC',
  0x00: 'NUL',
  0x7f: 'DEL',
  0x08: 'BS',
  0x061c: 'ALM',
  0x200e: 'LRM',
  0x200f: 'RLM',
  0x202a: 'LRE',
  0x202b: 'RLE',
  0x202c: 'PDF',
  0x202d: 'LRO',
  0x202e: 'RLO',
  0x2066: 'LRI',
  0x2067: 'RLI',
  0x2068: 'FSI',
  0x2069: 'PDI',
  0x200b: 'ZWSP',
  0x200c: 'ZWNJ',
  0x200d: 'ZWJ',
  0x2060: 'WJ',
  0xfeff: 'BOM',
  0x00ad: 'SHY',
  0x00a0: 'NBSP',
  0x2028: 'LSEP',
  0x2029: 'PSEP',
};

/** Characters that render as (nearly) nothing; \p{Cf} covers most, these are the letters/marks that do too. */
const INVISIBLE_EXTRA = new Set([0x034f, 0x115f, 0x1160, 0x17b4, 0x17b5, 0x180e, 0x3164, 0xffa0, 0x2800]);

/** Letters from other scripts that are drawn like ASCII in common fonts. NFKC catches fullwidth/maths forms. */
const HOMOGLYPHS: Record<string, string> = {
  // Cyrillic
  а: 'a',
  е: 'e',
  о: 'o',
  р: 'p',
  с: 'c',
  у: 'y',
  х: 'x',
  ѕ: 's',
  і: 'i',
  ј: 'j',
  ԁ: 'd',
  ԛ: 'q',
  ԝ: 'w',
  һ: 'h',
  ӏ: 'l',
  ү: 'y',
  ɡ: 'g',
  А: 'A',
  В: 'B',
  Е: 'E',
  К: 'K',
  М: 'M',
  Н: 'H',
  О: 'O',
  Р: 'P',
  С: 'C',
  Т: 'T',
  Х: 'X',
  Ѕ: 'S',
  І: 'I',
  Ј: 'J',
  Ү: 'Y',
  Ԁ: 'D',
  Ԛ: 'Q',
  Ԝ: 'W',
  // Greek
  α: 'a',
  ο: 'o',
  ν: 'v',
  ρ: 'p',
  ι: 'i',
  κ: 'k',
  τ: 't',
  υ: 'u',
  χ: 'x',
  Α: 'A',
  Β: 'B',
  Ε: 'E',
  Ζ: 'Z',
  Η: 'H',
  Ι: 'I',
  Κ: 'K',
  Μ: 'M',
  Ν: 'N',
  Ο: 'O',
  Ρ: 'P',
  Τ: 'T',
  Υ: 'Y',
  Χ: 'X',
  // Latin look-alikes and punctuation that shells treat differently from what it looks like
  ı: 'i',
  ɑ: 'a',
  ǀ: '|',
  '∕': '/',
  '⁄': '/',
  '∖': '\\',
  '‐': '-',
  '‑': '-',
  '‒': '-',
  '–': '-',
  '—': '-',
  '−': '-',
  ʼ: "'",
  '‘': "'",
  '’': "'",
  '‚': ',',
  '“': '"',
  '”': '"',
  '·': '.',
  '։': ':',
  '꞉': ':',
  '˸': ':',
  〳: '/',
  ꓸ: '.',
  ꓹ: ',',
};

const PRINTABLE_ASCII = /^[\x20-\x7e]+$/;

function codePointLabel(cp: number): string {
  return `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
}

function marker(cp: number): string {
  const name = NAMED[cp];
  return name ? `⟨${name}⟩` : `⟨${codePointLabel(cp)}⟩`;
}

function scriptOf(ch: string): string {
  for (const script of ['Cyrillic', 'Greek', 'Armenian', 'Cherokee', 'Latin', 'Han', 'Arabic', 'Hebrew'] as const) {
    if (new RegExp(`\\p{Script=${script}}`, 'u').test(ch)) return script;
  }
  return 'other';
}

function lookalikeOf(ch: string): string | undefined {
  const table = HOMOGLYPHS[ch];
  if (table) return table;
  const normalized = ch.normalize('NFKC');
  if (normalized !== ch && PRINTABLE_ASCII.test(normalized)) return normalized;
  return undefined;
}

export interface HardenOptions {
  /** Keep line breaks as real line breaks after their ⟨LF⟩ marker, so multi-line scripts stay readable. */
  multiline?: boolean;
}

/**
 * Escapes control, BiDi, invisible and unusual-space characters as visible ⟨NAME⟩ / ⟨U+XXXX⟩ markers and flags
 * look-alikes. Literal ⟨ and ⟩ in the input are escaped too, so a marker can never be forged.
 */
export function hardenForDisplay(input: string, options: HardenOptions = {}): HardenedText {
  const flags = new Set<DisplayFlag>();
  const confusables: ConfusableHit[] = [];
  let out = '';
  for (const ch of input) {
    const cp = ch.codePointAt(0)!;
    if (cp >= 0x20 && cp < 0x7f) {
      out += ch;
      continue;
    }
    if (cp === 0x27e8 || cp === 0x27e9) {
      flags.add('non-ascii');
      out += marker(cp);
      continue;
    }
    if (BIDI.has(cp)) {
      flags.add('bidi');
      out += marker(cp);
      continue;
    }
    if (/\p{Cc}/u.test(ch)) {
      flags.add('control');
      out += marker(cp);
      if (options.multiline && cp === 0x0a) out += '\n';
      continue;
    }
    if (/[\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Mn}]/u.test(ch) || INVISIBLE_EXTRA.has(cp) || (cp >= 0xe0000 && cp <= 0xe0fff)) {
      // Combining marks (Mn) are escaped as well: stacked on ASCII they disguise it, and commands rarely need them.
      flags.add('invisible');
      out += marker(cp);
      continue;
    }
    if (/[\p{Zs}\p{Zl}\p{Zp}]/u.test(ch)) {
      flags.add('unusual-space');
      out += marker(cp);
      if (options.multiline && (cp === 0x2028 || cp === 0x2029)) out += '\n';
      continue;
    }
    const looksLike = lookalikeOf(ch);
    if (looksLike !== undefined) {
      flags.add('confusable');
      confusables.push({ char: ch, codePoint: codePointLabel(cp), looksLike, script: scriptOf(ch) });
    } else {
      flags.add('non-ascii');
    }
    out += ch;
  }
  return { text: out, flags: [...flags], confusables };
}

// --- Secrets ----------------------------------------------------------------------------------------------

export const REDACTED = '‹redacted›';

/** Names of flags, variables and headers whose values are secrets. */
const SECRET_NAME =
  /(pass(word|wd|phrase)?|pwd|secret|token|api[-_]?key|apikey|access[-_]?key|private[-_]?key|credential|auth(orization)?|session[-_]?(id|key)|cookie|signature|client[-_]?secret|bearer)$/i;

export function isSecretName(name: string): boolean {
  const bare = name.replace(/^-+/, '').replace(/^[^A-Za-z]+|[^A-Za-z0-9]+$/g, '');
  return bare.length > 0 && SECRET_NAME.test(bare);
}

/** Well-known token formats, redacted wherever they appear. */
const TOKEN_PATTERNS: RegExp[] = [
  /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)/g,
  /\bgh[pousr]_[A-Za-z0-9]{20,}\b/g,
  /\bgithub_pat_[A-Za-z0-9_]{20,}\b/g,
  /\bglpat-[A-Za-z0-9_-]{20,}\b/g,
  /\bsk-(?:proj-|ant-)?[A-Za-z0-9_-]{20,}\b/g,
  /\b[sr]k_(?:live|test)_[A-Za-z0-9]{16,}\b/g,
  /\bxox[abprs]-[A-Za-z0-9-]{10,}\b/g,
  /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/g,
  /\bAIza[0-9A-Za-z_-]{35}\b/g,
  /\bnpm_[A-Za-z0-9]{36}\b/g,
  /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\b/g,
];

export interface RedactionResult {
  text: string;
  redactions: number;
}

/**
 * Hides secret values in a command line: known token formats anywhere; the value after a secret-named flag
 * (`--token=x`, `--password x`, `-H "Authorization: Bearer x"`); `NAME=value` assignments with secret names;
 * and the password in `scheme://user:password@host`.
 */
export function redactSecrets(command: string): RedactionResult {
  let redactions = 0;
  const hide = () => {
    redactions++;
    return REDACTED;
  };
  let text = command;
  for (const pattern of TOKEN_PATTERNS) text = text.replace(pattern, hide);
  // scheme://user:password@host
  text = text.replace(
    /([a-z][a-z0-9+.-]*:\/\/[^\s:/@'"]+:)([^\s@'"/]+)(@)/gi,
    (_m, pre: string, _pw: string, at: string) => {
      redactions++;
      return `${pre}${REDACTED}${at}`;
    },
  );
  // Credentials in a URL's query or fragment (`?token=`, `#token=`, OpenClaw's `#bootstrapToken=`).
  text = text.replace(
    /([?#&](?:token|bootstrapToken|access_token|api_key|apikey|password|secret)=)([^&#\s'"]+)/gi,
    (_m, pre: string) => {
      redactions++;
      return `${pre}${REDACTED}`;
    },
  );
  // Authorization-style headers: keep the scheme word, hide the credential.
  text = text.replace(
    /\b((?:proxy-)?authorization\s*:\s*(?:bearer|basic|token|digest)?\s*)([^\s'"]+)/gi,
    (_m, pre: string) => {
      redactions++;
      return `${pre}${REDACTED}`;
    },
  );
  text = text.replace(
    /\b(x-api-key|api-key|x-auth-token|cookie)(\s*:\s*)([^'"\n]+)/gi,
    (_m, name: string, sep: string) => {
      redactions++;
      return `${name}${sep}${REDACTED}`;
    },
  );
  // --flag=value, NAME=value
  text = text.replace(
    /((?:^|[\s'"])(?:--?)?[A-Za-z_][A-Za-z0-9_.-]*)=("[^"]*"|'[^']*'|[^\s'"]+)/g,
    (match, name: string) => {
      if (!isSecretName(name.trim().replace(/^['"]/, '')) || match.endsWith(`=${REDACTED}`)) return match;
      redactions++;
      return `${name}=${REDACTED}`;
    },
  );
  // --flag value (only long/short flags, never positional words)
  text = text.replace(
    /((?:^|\s)--?[A-Za-z][A-Za-z0-9_-]*)(\s+)("[^"]*"|'[^']*'|[^\s'"-][^\s'"]*)/g,
    (match, flag: string, gap: string, value: string) => {
      if (!isSecretName(flag.trim()) || value === REDACTED) return match;
      redactions++;
      return `${flag}${gap}${REDACTED}`;
    },
  );
  // mysql-style -pSECRET
  text = text.replace(/((?:^|\s)(?:mysql|mysqldump|mariadb)\b[^\n]*?\s-p)([^\s'"]+)/g, (_m, pre: string) => {
    redactions++;
    return `${pre}${REDACTED}`;
  });
  return { text, redactions };
}

export interface EnvKeyView {
  name: string;
  secret: boolean;
}

/** Environment variables are shown by name only; secret-looking names are marked so the user knows why. */
export function describeEnvKeys(keys: readonly string[]): EnvKeyView[] {
  return keys.map((name) => ({ name, secret: isSecretName(name) }));
}
