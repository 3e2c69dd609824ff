// `em-lab phase RUN`: the LoRA vectors of a training run across its checkpoints (norms, rotation between consecutive
// checkpoints, cosine with the final one) and the step of the sharpest rotation (src/runtime/train/loraTrajectory.ts).
import { resolve } from 'node:path';
import { loraTrajectory } from '../train/loraTrajectory';
import { bool, type CliCommand } from './command';
import { formatTable } from './table';

const f = (x: number | null, digits = 4) => (x === null ? '-' : x.toFixed(digits));

export const phaseCommand: CliCommand = {
  path: ['phase'],
  summary: 'The phase transition of a LoRA run: per module, the A/B vectors\' norms and rotation across checkpoints.',
  details: [
    'Rank 1: the adapter\'s A and B vectors themselves; higher ranks: the top singular vectors of scale·B·A.',
    'cos prev = cosine with the previous checkpoint (local rotation), cos final = with the last checkpoint,',
    'rotation = degrees per optimizer step since the previous checkpoint. The summary averages the modules;',
    'the sharpest rotation is the checkpoint ending the interval with the largest mean B rotation per step.',
    'Examples:\n  em-lab phase em-lab-runs/rank1\n  em-lab phase em-lab-runs/rank1 --modules --json',
  ].join('\n'),
  positionals: [{ name: 'RUN', description: 'Training run folder (with checkpoints/step-N/).', required: true }],
  options: { modules: { type: 'boolean', description: 'Also print one table per module (default: the summary only, unless the run has one module).' } },
  async run(args, io) {
    const view = await loraTrajectory(resolve(io.cwd, args.positionals[0]!));
    io.out(`${view.modules.length} module(s), rank ${view.rank}, checkpoints ${view.steps.join(', ')}. ${view.method}.`);
    if (view.modules.length === 1 || bool(args, 'modules')) {
      for (const m of view.modules) {
        io.out(`\n${m.module}`);
        io.out(formatTable(['step', '|A|', '|B|', 'sigma', 'cos prev A', 'cos prev B', 'cos final B', 'rotation deg/step'], m.points.map((p) => [p.step, f(p.normA), f(p.normB), f(p.sigma), f(p.cosPrevA), f(p.cosPrevB), f(p.cosFinalB), f(p.rotationB, 3)])));
      }
    }
    if (view.modules.length > 1) {
      io.out('\nall modules (means)');
      io.out(formatTable(['step', 'sigma rms', 'cos prev B', 'cos final B', 'rotation deg/step'], view.summary.map((s) => [s.step, f(s.sigmaRms), f(s.meanCosPrevB), f(s.meanCosFinalB), f(s.meanRotationB, 3)])));
    }
    io.out(`\nsharpest rotation of the B vectors: step ${view.sharpestStep ?? '-'}`);
    io.event({ event: 'phase', ...view });
    return 0;
  },
};

export const phaseCommands: CliCommand[] = [phaseCommand];
