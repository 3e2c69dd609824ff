// The run's epoch story in the words `em-lab train status` and training_details.md use
// (src/runtime/train/epochs.ts describeEpochs; a unit test checks the two agree).
import type { RunView } from '../../src/protocol/trainMethods';

export function epochText(run: Pick<RunView, 'status' | 'epochsDone' | 'epochsCompleted' | 'epochInProgress' | 'numEpochs'>): string {
  const partial = run.epochInProgress ? `, ${run.status === 'running' ? `epoch ${run.epochInProgress} in progress` : `stopped partway through epoch ${run.epochInProgress}`}` : '';
  return `${(run.epochsDone ?? 0).toFixed(2)} of ${run.numEpochs} configured epochs (${run.epochsCompleted ?? 0} completed${partial})`;
}
