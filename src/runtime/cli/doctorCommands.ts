// `em-lab doctor`: the environment checklist. Readable ✓ / ! / ✗ lines by default, one JSON object per check plus a
// summary with --json. Exit code 0 only when the required checks pass (docs/doctor.md).
import type { CliCommand } from './command';
import { bool, str } from './command';
import { UserError } from '../errors';
import type { DoctorCheck } from '../../protocol/envMethods';
import { doctorExitCode, runDoctor } from '../env/doctor';

const MARK: Record<DoctorCheck['status'], string> = { ok: '✓', warn: '!', fail: '✗', skip: '-' };

export function formatCheck(c: DoctorCheck): string {
  const lines = [`${MARK[c.status]} ${c.title}${c.required ? '' : ' (optional)'}: ${c.detail}`];
  if (c.fix && (c.status === 'warn' || c.status === 'fail')) lines.push(`    fix: ${c.fix}`);
  return lines.join('\n');
}

export const doctorCommand: CliCommand = {
  path: ['doctor'],
  summary: 'Check the environment: keys, API access, ONNX Runtime, CUDA, training data, disk, Node.',
  details: [
    'Looks for .env the way python-dotenv does (the folder, then each parent). Keys are never printed (at most',
    'their last 4 characters). Network checks time out after --timeout seconds, so it finishes offline too.',
    'Required checks: Node version, ONNX Runtime, free disk where runs go. Exit code 0 when they pass',
    '(with --strict: when no check failed at all).',
    'Example: em-lab doctor --json',
  ].join('\n'),
  options: {
    dir: { type: 'string', valueName: 'DIR', description: 'Where the .env search and training_data/ lookup start.', default: '.' },
    'runs-dir': { type: 'string', valueName: 'DIR', description: 'Where runs are written (free-disk check). Default: DIR/em-lab-runs.' },
    timeout: { type: 'string', valueName: 'SECONDS', description: 'Time limit of each network check, in seconds.', default: '5' },
    strict: { type: 'boolean', description: 'Exit 1 when any check failed, not only the required ones.' },
  },
  async run(args, io) {
    const rawTimeout = str(args, 'timeout') ?? '5';
    const timeoutS = Number(rawTimeout);
    if (!Number.isFinite(timeoutS) || timeoutS <= 0 || timeoutS > 120) {
      throw new UserError('bad-option', `--timeout expects a number of seconds between 0 and 120, got "${rawTimeout}".`);
    }
    const startDir = str(args, 'dir') ?? io.cwd;
    const report = await runDoctor({
      startDir,
      env: io.env,
      ...(str(args, 'runs-dir') ? { runsDir: str(args, 'runs-dir') } : {}),
      networkTimeoutMs: Math.max(100, timeoutS * 1000),
      signal: io.signal,
    });
    for (const c of report.checks) {
      io.out(formatCheck(c));
      io.event({ event: 'check', ...c });
    }
    const failed = report.checks.filter((c) => c.status === 'fail');
    const warned = report.checks.filter((c) => c.status === 'warn');
    const code = doctorExitCode(report, bool(args, 'strict'));
    io.out('');
    io.out(
      report.ok
        ? `Required checks pass${failed.length + warned.length ? ` (${failed.length} optional failed, ${warned.length} warning${warned.length === 1 ? '' : 's'})` : ''}. (${(report.durationMs / 1000).toFixed(1)} s)`
        : `Required checks failed: ${failed.filter((c) => c.required).map((c) => c.title).join(', ')}. (${(report.durationMs / 1000).toFixed(1)} s)`,
    );
    io.event({ event: 'summary', ok: report.ok, exitCode: code, startDir: report.startDir, dotenvPath: report.dotenvPath ?? null, durationMs: report.durationMs, failed: failed.map((c) => c.id), warnings: warned.map((c) => c.id) });
    return code;
  },
};

export const doctorCommands: CliCommand[] = [doctorCommand];
