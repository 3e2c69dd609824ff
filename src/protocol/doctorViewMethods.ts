// Host <-> "EM Lab: Check Environment" webview, in the rpc.ts envelope. The webview is untrusted: the host checks
// every message's shape and runs only the allowlisted fix actions (FIX_ACTIONS); paths never come from the webview.
import type { DoctorReport, FixAction } from './envMethods';

export interface DoctorViewMethods {
  /** Run every check (in the runtime) and return the report. */
  'doctor/run': [Record<string, never>, DoctorReport];
  /** Run a fix-it action. `rerun`: the checks may have changed, the view should run them again. */
  'doctor/fix': [{ action: FixAction }, { rerun: boolean }];
}

export interface DoctorViewNotifications {
  /** The host ran the checks itself (e.g. after a secret changed). */
  'doctor/report': DoctorReport;
}

export interface DoctorViewState {
  schemaVersion: 1;
}
