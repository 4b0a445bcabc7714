import fs from 'node:fs';
import path from 'node:path';

/**
 * OpenClaw 2026.9.6 keeps exec approvals in its database. While an `exec-approvals.json` sits in its state dir its
 * gateway will not start (exit 78, "maintenance required"), and one that appears later makes it refuse every exec
 * ("Legacy exec approvals exist … run `openclaw doctor --fix`"). Such a file is OpenClaw's own from
 * an older release, or the policy Clawdesk's built-in gateway kept there before the person switched to an OpenClaw
 * mode. Clawdesk changes neither (the approvals in it are the person's decisions, and OpenClaw's doctor is the
 * documented way to import them); it says so before the agent's first command fails for no visible reason.
 */

export const LEGACY_EXEC_APPROVALS_FILE = 'exec-approvals.json';

export interface StateWarning {
  message: string;
  fix: string;
}

/** A path OpenClaw's gate counts as present: anything lstat does not report as missing (a dir, a link, EACCES). */
function mayExist(file: string): boolean {
  try {
    fs.lstatSync(file);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}

/**
 * The warning for `stateDir` when OpenClaw's gate would refuse exec there: the legacy file, or the claim its doctor
 * leaves while importing (`<file>.doctor-importing`), counted as OpenClaw counts them.
 */
export function legacyExecApprovalsWarning(stateDir: string): StateWarning | undefined {
  const file = path.join(stateDir, LEGACY_EXEC_APPROVALS_FILE);
  const claim = `${file}.doctor-importing`;
  if (!mayExist(file) && !mayExist(claim)) return undefined;
  return {
    message: `OpenClaw will not start, or refuses every command, while ${mayExist(file) ? file : claim} exists (exec approvals from an earlier OpenClaw, or from Clawdesk's built-in gateway, not yet imported by its doctor)`,
    fix: `Stop the gateway, run \`openclaw doctor --fix\` with OPENCLAW_STATE_DIR set to ${stateDir} to import those approvals into OpenClaw, then start it again.`,
  };
}
