// Every runtime method and notification, as typed maps. Each domain declares its own map in its own file
// (dataMethods.ts, modelMethods.ts, ...); this file only combines them. The runtime's handler table is declared
// `satisfies RuntimeHandlers`, so a method without a handler fails to compile.
import type { InitializeParams, InitializeResult } from './rpc';
import type { DataMethods } from './dataMethods';
import type { CudaMethods } from './cudaMethods';
import type { EnvMethods } from './envMethods';
import type { ChatMethods, ChatNotifications } from './chatMethods';
import type { EvalMethods } from './evalMethods';
import type { TrainMethods, TrainNotifications } from './trainMethods';
import type { ExperimentMethods, ExperimentNotifications } from './experimentMethods';
import type { ClusterMethods } from './clusterMethods';

export interface CoreMethods {
  initialize: [InitializeParams, InitializeResult];
  /** Test aids: echo, a cancellable sleep, and a deliberate crash (used by the runtime process tests). */
  'debug/echo': [{ value: unknown }, { value: unknown }];
  'debug/sleep': [{ ms: number }, { sleptMs: number; cancelled: boolean }];
  'debug/crash': [{ message: string }, never];
  /** Request ids the compute worker is running now, this one included (tests check a cancelled request stopped). */
  'debug/inflight': [Record<string, never>, { ids: number[] }];
  /** Sends `count` progress notifications for this request, `intervalMs` apart, then returns `count`. */
  'debug/progress': [{ count: number; intervalMs: number }, { sent: number }];
}

export interface CoreNotifications {
  /** Progress of a long request, keyed by the request id that started it. */
  progress: { requestId: number; message?: string; fraction?: number };
  log: { level: 'info' | 'warn' | 'error'; message: string };
}

// Domains add themselves here (one line each).
export type RuntimeMethods = CoreMethods & DataMethods & CudaMethods & EnvMethods & ChatMethods & EvalMethods & TrainMethods & ExperimentMethods & ClusterMethods;
export type RuntimeNotifications = CoreNotifications & ChatNotifications & TrainNotifications & ExperimentNotifications;
