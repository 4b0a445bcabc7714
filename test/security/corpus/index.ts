import type { CorpusCase } from '../helpers/corpus-types';
import env from './env';
import escapes from './escapes';
import git from './git';
import pathCases from './path';
import positives from './positives';
import shellSyntax from './shell-syntax';
import windows from './windows';
import wrappers from './wrappers';

/** The standing evasion corpus (issue 9), grouped by file. */
export const CORPUS: Record<string, CorpusCase[]> = {
  wrappers,
  'shell-syntax': shellSyntax,
  path: pathCases,
  git,
  escapes,
  env,
  windows,
  positives,
};

export { SCRIPTED, runScripted, type ScriptedCase } from './scripted';
