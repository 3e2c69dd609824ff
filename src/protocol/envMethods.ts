// Environment check (`em-lab doctor`, "EM Lab: Check Environment"): one list of checks, the same from the CLI and
// the runtime process.

/** Names (never values) of secrets the host put in the runtime's environment from SecretStorage, comma-separated. */
export const SECRET_SOURCE_ENV = 'EM_LAB_SECRETS_FROM_STORAGE';

export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';

/** Fix-it actions the Check Environment view can offer (an allowlist: the host runs only these). */
export const FIX_ACTIONS = ['setOpenAiKey', 'setHfToken', 'openDotenv', 'getTrainingData', 'showLog', 'setupCuda'] as const;
export type FixAction = (typeof FIX_ACTIONS)[number];

export interface DoctorCheck {
  /** Stable id: node, dotenv, openai-key, openai-api, hf-token, hf-api, onnxruntime, cuda, training-data, disk. */
  id: string;
  title: string;
  status: CheckStatus;
  /** What was found. Never contains a secret (at most its last 4 characters). */
  detail: string;
  /** What to do, when status is warn or fail. */
  fix?: string;
  action?: FixAction;
  /** Required checks decide the exit code: see docs/doctor.md. */
  required: boolean;
  durationMs: number;
}

export interface DoctorReport {
  checks: DoctorCheck[];
  /** True when every required check is ok or warn. */
  ok: boolean;
  /** Where the .env search started (the workspace folder or the CLI's cwd). */
  startDir: string;
  dotenvPath?: string;
  durationMs: number;
}

export interface DoctorParams {
  /** Where the .env search and the training_data/ lookup start (default: the runtime's cwd). */
  startDir?: string;
  /** Where runs are written (free-disk check). Default: `<startDir>/em-lab-runs`. */
  runsDir?: string;
  /** Per network check, in ms (default 5000). */
  networkTimeoutMs?: number;
  /**
   * Where the advice is read, so it names what the reader can do there: 'vscode' names VS Code commands,
   * 'cli' (the default) names em-lab commands and flags.
   */
  surface?: DoctorSurface;
}

export type DoctorSurface = 'cli' | 'vscode';

export interface EnvMethods {
  'env/doctor': [DoctorParams, DoctorReport];
}
