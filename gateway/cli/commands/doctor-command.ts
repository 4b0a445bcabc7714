import { CliCommand, EXIT_FAILURE, parseCommandArgs, EXIT_OK, UsageError } from '../cli-io';
import { DoctorReport, runDoctor } from '../../state/state-doctor';
import { InvalidProfileError, currentPathEnvironment } from '../../state/state-paths';

const USAGE = `Usage: clawdesk doctor [--json] [--fix] [--profile <name>] [--skip-keychain]

Checks OpenClaw's state directories (split or duplicated state, legacy dirs, corrupt files, loose permissions,
stale pairings, identity/token mismatches) and Clawdesk's own secret store.

  --json            machine-readable report
  --fix             do the safe fixes: move corrupt files aside (never delete), tighten permissions
                    (clears group/other bits only, never through a symbolic link), finish or undo an
                    interrupted migration
  --profile <name>  check <home>/.openclaw-<name>
  --skip-keychain   do not probe the OS keychain (no canary item is written)

Exit status: 1 when an error-level finding remains, 0 otherwise.
`;

export const doctorCommand: CliCommand = async (argv, io) => {
  const { values } = parseCommandArgs(
    {
      args: argv,
      options: {
        json: { type: 'boolean' },
        fix: { type: 'boolean' },
        profile: { type: 'string' },
        'skip-keychain': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    },
    USAGE,
  );
  if (values.help) {
    io.stdout(USAGE);
    return EXIT_OK;
  }
  const pe = { ...currentPathEnvironment(), env: io.env };
  let report: DoctorReport;
  try {
    report = await runDoctor(pe, { profile: values.profile, fix: values.fix, probeKeychain: !values['skip-keychain'] });
  } catch (error) {
    if (error instanceof InvalidProfileError) throw new UsageError(error.message);
    throw error;
  }
  if (values.json) {
    const { scan: _scan, ...rest } = report;
    io.stdout(`${JSON.stringify(rest, null, 2)}\n`);
  } else {
    io.stdout(formatReport(report));
  }
  return report.ok ? EXIT_OK : EXIT_FAILURE;
};

export function formatReport(report: DoctorReport): string {
  const lines: string[] = [];
  lines.push(`OpenClaw state dir: ${report.activeStateDir} (${report.source})`);
  lines.push(`Config: ${report.configPath}`);
  lines.push('');
  const label = { error: 'ERROR', warn: 'WARN ', info: 'INFO ' } as const;
  for (const f of report.findings) {
    lines.push(`${label[f.severity]} ${f.message}`);
    if (f.fixed) lines.push(`      fixed: ${f.fixed}`);
    else lines.push(`      fix: ${f.fix}`);
  }
  if (report.findings.length > 0) lines.push('');
  const { error, warn, info } = report.counts;
  lines.push(`${plural(error, 'error')}, ${plural(warn, 'warning')}, ${plural(info, 'note')}.`);
  return `${lines.join('\n')}\n`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
