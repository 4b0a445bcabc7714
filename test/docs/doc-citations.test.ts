import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * Comments cite the repository's own docs as `(docs/protocol.md § Pairing)`: the path, " § ", then the exact text of
 * a heading of any level (several: `(docs/protocol.md § Pairing; docs/exec-policy.md § The policy fields)`). A cite
 * stays on one line and ends at `)`, `;`, a closing backtick or the end of the line. Numbered sections of a document
 * outside the repository ("spec 4.2", "pitfall 21") are not citations a clone can follow, so none may come back.
 */

const ROOT = path.resolve(__dirname, '..', '..');
const SOURCE_DIRS = ['gateway', 'main', 'preload', 'renderer', 'common', 'bench', 'scripts', 'test'];
const SOURCE_EXTENSIONS = ['.ts', '.mts', '.cts', '.mjs', '.cjs'];
/** Never scanned: installed or built output, and recorded wire data. */
const SKIPPED_DIRS = new Set(['node_modules', 'dist']);
const SKIPPED_PATHS = new Set(['test/fixtures/frames', 'test/interop/captures']);
/** This file names the forbidden forms in its own examples. */
const SELF = path.relative(ROOT, __filename).split(path.sep).join('/');

const OLD_CITATION = /\b(?:spec\s+\d+(?:\.\d+)?|pitfalls?\s+\d+)/gi;
const OUTSIDE_DOC = /\.\.\/shared\b|\/work\/shared\b|openclaw-protocol\.md/g;
const DOC_CITATION = /\b(docs\/[\w.-]+\.md) § /g;
/** What may follow a heading's text in a cite (a backtick: a cite quoted as code in Markdown). */
const CITE_END = /^(?:[);`]|\s*(?:\*\/)?\s*$)/;

interface Problem {
  file: string;
  line: number;
  message: string;
}

function walk(dir: string, rel: string, extensions: readonly string[], out: string[]): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const childRel = `${rel}/${entry.name}`;
    if (entry.isDirectory()) {
      if (!SKIPPED_DIRS.has(entry.name) && !SKIPPED_PATHS.has(childRel))
        walk(path.join(dir, entry.name), childRel, extensions, out);
    } else if (extensions.some((ext) => entry.name.endsWith(ext))) {
      out.push(childRel);
    }
  }
}

function filesToScan(): { sources: string[]; docs: string[] } {
  const sources: string[] = [];
  const docs: string[] = [];
  for (const dir of SOURCE_DIRS) {
    if (!existsSync(path.join(ROOT, dir))) continue;
    walk(path.join(ROOT, dir), dir, SOURCE_EXTENSIONS, sources);
    walk(path.join(ROOT, dir), dir, ['.md'], docs);
  }
  walk(path.join(ROOT, 'docs'), 'docs', ['.md'], docs);
  docs.push('README.md');
  return { sources: sources.filter((file) => file !== SELF).sort(), docs: docs.sort() };
}

/** The exact text of every heading of a Markdown file, outside fenced code blocks. */
function markdownHeadings(markdown: string): Set<string> {
  const headings = new Set<string>();
  let fence: string | null = null;
  for (const line of markdown.split('\n')) {
    const marker = /^\s*(`{3,}|~{3,})/.exec(line);
    if (marker) {
      if (fence === null) fence = marker[1][0];
      else if (marker[1][0] === fence) fence = null;
      continue;
    }
    if (fence !== null) continue;
    const heading = /^#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$/.exec(line);
    if (heading) headings.add(heading[1]);
  }
  return headings;
}

/** Headings of a doc by its path from the repository root; null when the file does not exist. */
type HeadingLookup = (doc: string) => Set<string> | null;

function repoHeadings(root = ROOT): HeadingLookup {
  const cache = new Map<string, Set<string> | null>();
  return (doc) => {
    if (!cache.has(doc)) {
      const file = path.join(root, doc);
      cache.set(doc, existsSync(file) ? markdownHeadings(readFileSync(file, 'utf8')) : null);
    }
    return cache.get(doc)!;
  };
}

/** Every citation problem in one file's text: old spec/pitfall numbers, the outside document, broken doc cites. */
function citationProblems(file: string, text: string, headingsOf: HeadingLookup): Problem[] {
  const problems: Problem[] = [];
  text.split('\n').forEach((lineText, index) => {
    const line = index + 1;
    for (const match of lineText.matchAll(OLD_CITATION)) {
      problems.push({
        file,
        line,
        message: `"${match[0]}" cites a document outside the repository; cite docs/<name>.md § <heading> instead`,
      });
    }
    for (const match of lineText.matchAll(OUTSIDE_DOC)) {
      problems.push({ file, line, message: `"${match[0]}" is outside the repository; a clone does not have it` });
    }
    for (const match of lineText.matchAll(DOC_CITATION)) {
      const doc = match[1];
      const rest = lineText.slice(match.index + match[0].length);
      const cited = rest
        .split(/[;)]/)[0]
        .replace(/\s*\*\/\s*$/, '')
        .trim();
      const headings = headingsOf(doc);
      if (headings === null) {
        problems.push({ file, line, message: `${doc} does not exist (cited as "${doc} § ${cited}")` });
        continue;
      }
      const found = [...headings].some((h) => rest.startsWith(h) && CITE_END.test(rest.slice(h.length)));
      if (!found) problems.push({ file, line, message: `${doc} has no heading "${cited}"` });
    }
  });
  return problems;
}

function describeProblems(problems: Problem[]): string {
  return problems.map((p) => `${p.file}:${p.line}: ${p.message}`).join('\n');
}

function scan(files: readonly string[]): Problem[] {
  const headingsOf = repoHeadings();
  return files.flatMap((file) => citationProblems(file, readFileSync(path.join(ROOT, file), 'utf8'), headingsOf));
}

describe('doc citations', () => {
  const { sources, docs } = filesToScan();

  it('finds the sources and the docs it checks', () => {
    expect(sources).toContain('gateway/server/handshake.ts');
    expect(sources).toContain('test/docs/protocol-method-table.test.ts');
    expect(sources).not.toContain(SELF);
    expect(docs).toContain('docs/protocol.md');
    expect(docs).toContain('README.md');
  });

  it('every cite in the sources names an existing doc and heading, and no source cites the outside spec', () => {
    const problems = scan(sources);
    expect(problems, describeProblems(problems)).toEqual([]);
  });

  it('the docs and READMEs cite only what a clone has', () => {
    const problems = scan(docs);
    expect(problems, describeProblems(problems)).toEqual([]);
  });

  describe('the checker', () => {
    const headingsOf: HeadingLookup = (doc) =>
      doc === 'docs/protocol.md'
        ? markdownHeadings('# Title\n\n## Pairing\n\n### One device identity, one look\n\n## Matching (`a.ts`)\n')
        : null;
    const check = (text: string) =>
      citationProblems('x.ts', text, headingsOf).map((p) => `${p.file}:${p.line}: ${p.message}`);

    it('accepts exact headings of any level, alone, several, or ending the line', () => {
      expect(check('/** Pinned (docs/protocol.md § Pairing). */')).toEqual([]);
      expect(check('// (docs/protocol.md § Pairing; docs/protocol.md § One device identity, one look)')).toEqual([]);
      expect(check(' * files (docs/protocol.md § Matching (`a.ts`)) and')).toEqual([]);
      expect(check(' * see docs/protocol.md § Pairing')).toEqual([]);
      expect(check('/** see docs/protocol.md § Pairing */')).toEqual([]);
      expect(check('cite it as `docs/protocol.md § Pairing`.')).toEqual([]);
    });

    it('names file:line and the missing heading or doc', () => {
      expect(check('one\n// (docs/protocol.md § Pairings)')).toEqual([
        'x.ts:2: docs/protocol.md has no heading "Pairings"',
      ]);
      expect(check('// (docs/protocol.md § pairing)')).toEqual(['x.ts:1: docs/protocol.md has no heading "pairing"']);
      expect(check('// (docs/protocol.md § Pairing, again)')).toEqual([
        'x.ts:1: docs/protocol.md has no heading "Pairing, again"',
      ]);
      expect(check('// (docs/nope.md § Pairing)')).toEqual([
        'x.ts:1: docs/nope.md does not exist (cited as "docs/nope.md § Pairing")',
      ]);
    });

    it('refuses numbered sections and pitfalls of the outside spec, and paths to it', () => {
      expect(check('// (spec 4.2)\n// Spec 9.7 step 6\n/* spec 8 pitfall 8 */ // pitfalls 12 and 13')).toEqual([
        'x.ts:1: "spec 4.2" cites a document outside the repository; cite docs/<name>.md § <heading> instead',
        'x.ts:2: "Spec 9.7" cites a document outside the repository; cite docs/<name>.md § <heading> instead',
        'x.ts:3: "spec 8" cites a document outside the repository; cite docs/<name>.md § <heading> instead',
        'x.ts:3: "pitfall 8" cites a document outside the repository; cite docs/<name>.md § <heading> instead',
        'x.ts:3: "pitfalls 12" cites a document outside the repository; cite docs/<name>.md § <heading> instead',
      ]);
      // Built from parts, so this file does not itself read as a reference to the outside directory.
      expect(check(`see ../${'shared'}/spec/openclaw-protocol.md`)).toHaveLength(2);
      expect(check('the inspector 4 and a respec 2 are fine')).toEqual([]);
    });

    it('reads headings outside code fences only, with closing #s dropped', () => {
      expect([...markdownHeadings('## A ##\n```sh\n# not a heading\n```\n### B\n#nope\n')]).toEqual(['A', 'B']);
    });
  });
});
