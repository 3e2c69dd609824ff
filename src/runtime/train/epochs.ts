// The one epoch story of a run (issue: the demo printed "epoch 1.50", `train status` "epoch 2/3" and run.json
// "epoch": 1 for the same run). Everything derives from one number, the epochs done after the last step
// (metrics.jsonl's fractional `epoch`), and the configured count; run.json stores the derived fields
// (docs/run-directory.md), and status, the training view, the demo and training_details.md print them.
import type { RunView } from '../../protocol/trainMethods';

export type EpochFields = Pick<RunView, 'epochsDone' | 'epochsCompleted' | 'epochInProgress' | 'numEpochs'>;

/** Splits fractional epochs done into completed epochs and the 1-based epoch in progress (none at a boundary). */
export function epochFields(epochsDone: number, numEpochs: number): EpochFields {
  // A step's epoch is e + k/n with k <= n (batching.ts), so a boundary is an exact integer; round away float noise.
  const done = Math.round(epochsDone * 1e9) / 1e9;
  const completed = Math.floor(done);
  return { epochsDone: done, epochsCompleted: completed, ...(done > completed ? { epochInProgress: completed + 1 } : {}), numEpochs };
}

/** "1.50 of 3 configured epochs (1 completed, stopped partway through epoch 2)": the same words everywhere. */
export function describeEpochs(r: EpochFields, running: boolean): string {
  const partial = r.epochInProgress ? `, ${running ? `epoch ${r.epochInProgress} in progress` : `stopped partway through epoch ${r.epochInProgress}`}` : '';
  return `${r.epochsDone.toFixed(2)} of ${r.numEpochs} configured epochs (${r.epochsCompleted} completed${partial})`;
}

/** Why a run stopped, in words (training_details.md, train status). */
export function describeStop(reason: RunView['stopReason'], maxSteps: number): string | undefined {
  switch (reason) {
    case 'epochs':
      return 'all configured epochs ran';
    case 'max-steps':
      return `--max_steps ${maxSteps} reached`;
    case 'paused':
      return 'paused (resume continues exactly)';
    case 'cancelled':
      return 'cancelled (resume continues exactly)';
    case 'failed':
      return 'failed';
    default:
      return undefined;
  }
}
