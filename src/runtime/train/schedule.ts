// Learning-rate schedules, as transformers' get_linear/cosine_schedule_with_warmup: for the optimizer step with
// 0-based index s (the first update uses s = 0, so its lr is 0 when there is warm-up),
//   warm-up: lr·s/W for s < W;  then linear: lr·(T-s)/(T-W), cosine: lr·½(1+cos(π(s-W)/(T-W))), constant: lr.
export type LrScheduler = 'linear' | 'cosine' | 'constant';

export interface ScheduleConfig {
  lr: number;
  scheduler: LrScheduler;
  warmupSteps: number;
  totalSteps: number;
}

export function lrAt(s: number, c: ScheduleConfig): number {
  if (s < c.warmupSteps) return (c.lr * s) / Math.max(1, c.warmupSteps);
  if (c.scheduler === 'constant') return c.lr;
  const progress = (s - c.warmupSteps) / Math.max(1, c.totalSteps - c.warmupSteps);
  if (c.scheduler === 'cosine') return c.lr * Math.max(0, 0.5 * (1 + Math.cos(Math.PI * progress)));
  return c.lr * Math.max(0, 1 - progress);
}

/** Warm-up given as steps (>= 1) or as a ratio of the total (< 1), as the homework's and HF's options allow. */
export function warmupSteps(value: number, totalSteps: number): number {
  return value > 0 && value < 1 ? Math.ceil(value * totalSteps) : Math.round(value);
}
