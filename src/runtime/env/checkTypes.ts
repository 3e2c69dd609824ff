// What every doctor check gets, and the shape it returns (doctor.ts adds id, required and timing).
import type { DoctorCheck, DoctorSurface } from '../../protocol/envMethods';
import type { DotenvFile } from './findDotenv';

export interface CheckContext {
  startDir: string;
  /** The runtime's own environment (SecretStorage values included, named in EM_LAB_SECRETS_FROM_STORAGE). */
  env: NodeJS.ProcessEnv;
  /** The .env found upward from startDir, without endpoint variables when it lies outside the workspace root. */
  dotenv: DotenvFile | undefined;
  /** What was ignored from that .env and why (env/endpoints.ts). */
  dotenvNotes?: string[];
  runsDir: string;
  networkTimeoutMs: number;
  signal?: AbortSignal;
  /** Where the report is read: fixes name a VS Code command there, an em-lab command in a terminal. */
  surface: DoctorSurface;
}

/** The advice for the surface the report is read on. */
export function onSurface(ctx: Pick<CheckContext, 'surface'>, advice: Record<DoctorSurface, string>): string {
  return advice[ctx.surface];
}

export type CheckOutcome = Pick<DoctorCheck, 'status' | 'detail'> & Partial<Pick<DoctorCheck, 'fix' | 'action'>>;

export interface CheckSpec {
  id: string;
  title: string;
  required: boolean;
  run(ctx: CheckContext): Promise<CheckOutcome>;
}
