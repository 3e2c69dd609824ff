// `em-lab doctor` / "EM Lab: Check Environment" / `env/doctor`: every check runs concurrently, each with its own
// time limit, so the whole report arrives within ~networkTimeoutMs + session creation even offline (measured: see
// docs/doctor.md). Required checks (node, onnxruntime, disk) decide the exit code; the rest inform.
import { join, resolve } from 'node:path';
import type { DoctorCheck, DoctorReport, DoctorSurface } from '../../protocol/envMethods';
import { RUNS_FOLDER } from '../../protocol/trainMethods';
import type { CheckContext, CheckOutcome, CheckSpec } from './checkTypes';
import { loadDotenv } from './findDotenv';
import { dotenvForEndpoints, projectRoot } from './endpoints';
import { dotenvCheck, hfTokenCheck, openAiKeyCheck } from './keyChecks';
import { hfApiCheck, openAiApiCheck } from './networkChecks';
import { cudaCheck, diskCheck, nodeCheck, onnxruntimeCheck, trainingDataCheck } from './systemChecks';
import { errorMessage } from '../errors';

/** Report order. */
export const ALL_CHECKS: readonly CheckSpec[] = [nodeCheck, dotenvCheck, openAiKeyCheck, openAiApiCheck, hfTokenCheck, hfApiCheck, onnxruntimeCheck, cudaCheck, trainingDataCheck, diskCheck];

export const DEFAULT_NETWORK_TIMEOUT_MS = 5000;

export interface DoctorOptions {
  startDir: string;
  env: NodeJS.ProcessEnv;
  runsDir?: string;
  networkTimeoutMs?: number;
  signal?: AbortSignal;
  /** Where the report is read (default 'cli'): the fixes name commands that exist there. */
  surface?: DoctorSurface;
  /** Only these check ids (tests); default all. */
  only?: string[];
  onCheck?: (check: DoctorCheck) => void;
}

/** Guard so one stuck check cannot hold the report (network checks already abort at networkTimeoutMs). */
function withDeadline(p: Promise<CheckOutcome>, ms: number): Promise<CheckOutcome> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<CheckOutcome>((resolve) => {
    timer = setTimeout(() => resolve({ status: 'fail', detail: `The check did not finish within ${ms / 1000} s.`, fix: 'Run it again; if it persists, see the EM Lab log.', action: 'showLog' }), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

export async function runDoctor(o: DoctorOptions): Promise<DoctorReport> {
  const start = Date.now();
  const startDir = resolve(o.startDir);
  let dotenv: CheckContext['dotenv'];
  let dotenvError: string | undefined;
  try {
    dotenv = loadDotenv(startDir);
  } catch (err) {
    dotenvError = errorMessage(err);
  }
  const networkTimeoutMs = o.networkTimeoutMs ?? DEFAULT_NETWORK_TIMEOUT_MS;
  const safe = dotenvForEndpoints(dotenv, projectRoot(startDir)); // a .env above the workspace may not set endpoints
  const ctx: CheckContext = { startDir, env: o.env, dotenv: safe.dotenv, dotenvNotes: safe.notes, runsDir: resolve(o.runsDir ?? join(startDir, RUNS_FOLDER)), networkTimeoutMs, signal: o.signal, surface: o.surface ?? 'cli' };
  const specs = ALL_CHECKS.filter((c) => !o.only || o.only.includes(c.id));
  const checks = await Promise.all(
    specs.map(async (spec): Promise<DoctorCheck> => {
      const t0 = Date.now();
      let outcome: CheckOutcome;
      if (spec.id === 'dotenv' && dotenvError) {
        outcome = { status: 'fail', detail: `Found a .env but could not read it: ${dotenvError}`, fix: 'Check the file\'s permissions.', action: 'openDotenv' };
      } else {
        try {
          outcome = await withDeadline(spec.run(ctx), networkTimeoutMs + 10_000);
        } catch (err) {
          outcome = { status: 'fail', detail: `The check itself failed: ${errorMessage(err)}`, fix: 'See the EM Lab log; report it if it persists.', action: 'showLog' };
        }
      }
      const check: DoctorCheck = { id: spec.id, title: spec.title, required: spec.required, ...outcome, durationMs: Date.now() - t0 };
      if (check.fix === undefined) delete check.fix;
      o.onCheck?.(check);
      return check;
    }),
  );
  return { checks, ok: requiredChecksPass(checks), startDir, ...(dotenv ? { dotenvPath: dotenv.path } : {}), durationMs: Date.now() - start };
}

/** Required checks pass when none of them failed (a warning passes). */
export function requiredChecksPass(checks: readonly DoctorCheck[]): boolean {
  return checks.every((c) => !c.required || c.status !== 'fail');
}

/** 0 when the required checks pass; with strict, any failed check gives 1. */
export function doctorExitCode(report: DoctorReport, strict = false): number {
  if (!report.ok) return 1;
  if (strict && report.checks.some((c) => c.status === 'fail')) return 1;
  return 0;
}
