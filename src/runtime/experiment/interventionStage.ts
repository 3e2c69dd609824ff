// The interventions stage (docs/steering.md): does removing the misalignment direction from the fine-tuned model
// take its EM away, and does adding it to the base model bring EM? The direction is computed from the last
// checkpoint's judged sweep answers ("auto") or read from a file; each run answers the experiment's questions with
// the same seeds as the base model and the sweep, with the direction ablated or added (or a random vector of the same
// layer, the paper's control), and is judged like them, into interventions/<name>/.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ExperimentInterventionsSpec, InterventionRunSpec } from '../../protocol/experimentTypes';
import type { SteeringRef } from '../../protocol/chatMethods';
import { UserError } from '../errors';
import { localGenerator } from '../eval/generators/localGenerator';
import { listCheckpoints } from '../eval/sweep';
import { sessionsFor } from '../model/generateSession';
import { fillUniform, seedFrom } from '../random';
import { readRunJson } from '../train/runDir';
import { computeDirectionFile } from '../direction/directionService';
import { norm, readDirectionFile, writeDirectionFile } from '../direction/directionFile';
import { fromExperiment, modelOf, type LoadedExperiment } from './experimentFile';
import { ensureModel, fixText, generateAndJudge, StageBlocked, type StageContext, type StageOutcome } from './stages';
import { LOCAL_BATCH } from './stageGenerator';
import { addCost, zeroCost } from './statusFile';

export const INTERVENTIONS_DIR = 'interventions';
const AUTO_FILE = 'direction.safetensors';

/** The direction file the stage uses: interventions/direction.safetensors for "auto", else the given file. */
export function directionPathOf(e: LoadedExperiment, spec: ExperimentInterventionsSpec): string {
  return spec.direction === 'auto' ? join(e.dir, INTERVENTIONS_DIR, AUTO_FILE) : fromExperiment(e.dir, spec.direction);
}

/** The layer used: the spec's, else the middle of the file's layers (the paper steers at a middle layer). */
export function interventionLayer(spec: ExperimentInterventionsSpec, fileLayers: number[]): number {
  if (spec.layer !== undefined) return spec.layer;
  const sorted = [...fileLayers].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** The random control's file: one seeded random unit vector at the layer, interventions/random-<name>-L<layer>.safetensors. */
export function randomDirectionPath(e: LoadedExperiment, run: InterventionRunSpec, layer: number): string {
  return join(e.dir, INTERVENTIONS_DIR, `random-${run.name}-L${layer}.safetensors`);
}

/** The last checkpoint of the training run (undefined before it has one). */
async function finalCheckpoint(e: LoadedExperiment): Promise<{ label: string; step: number; path: string } | undefined> {
  const runDir = join(e.dir, 'train');
  if (readRunJson(runDir)?.status !== 'finished') return undefined;
  const all = await listCheckpoints(runDir).catch(() => []);
  const last = all.at(-1);
  return last?.path ? { label: last.label, step: last.step, path: last.path } : undefined;
}

export async function runInterventionsStage(c: StageContext): Promise<StageOutcome> {
  const spec = c.e.experiment.interventions;
  if (!spec || spec.runs.length === 0) return { status: 'done', detail: 'none asked for (experiment.json has no "interventions")', outputs: [], cost: {} };
  mkdirSync(join(c.e.dir, INTERVENTIONS_DIR), { recursive: true });
  const final = await finalCheckpoint(c.e);
  if (!final && spec.runs.some((r) => r.model === 'final')) {
    throw new StageBlocked('The interventions on the fine-tuned model need the finished training run\'s last checkpoint.', 'finish-training', fixText('finish-training', c));
  }
  await ensureModel(c);
  const file = directionPathOf(c.e, spec);
  const outputs: string[] = [];
  if (spec.direction === 'auto' && !existsSync(file)) {
    const judged = final ? join(c.e.dir, 'sweep', `step-${final.step}`, 'judged.csv') : undefined;
    if (c.e.experiment.judge.provider === 'none') throw new StageBlocked('interventions.direction "auto" computes the direction from judged answers, and this experiment has no judge.', 'edit-experiment', fixText('edit-experiment', c));
    if (!final || !judged || !existsSync(judged)) throw new StageBlocked(`interventions.direction "auto" is computed from the last checkpoint's judged answers (sweep/step-${final?.step ?? 'N'}/judged.csv), which are not there yet.`, 'run-again', fixText('run-again', c));
    c.progress('computing the misalignment direction');
    await computeDirectionFile({ storageDir: c.storageDir, env: c.env, model: modelOf(c.e), adapter: final.path, judged, preset: c.e.experiment.evaluation.metricPreset, ...(spec.minGroup ? { minGroup: spec.minGroup } : {}), out: file, signal: c.signal, progress: (m, f) => c.progress(m, f) });
  }
  const direction = readDirectionFile(file);
  const layer = interventionLayer(spec, [...direction.layers.keys()]);
  if (!direction.layers.has(layer)) throw new UserError('experiment-invalid', `experiment.json interventions.layer ${layer}: ${file} has no direction for that layer (it has ${[...direction.layers.keys()].join(', ')}).`);
  if (spec.direction === 'auto') outputs.push(`${INTERVENTIONS_DIR}/${AUTO_FILE}`);
  const sessions = sessionsFor(c.storageDir, c.env);
  let cost = zeroCost();
  const details: string[] = [];
  for (const [i, run] of spec.runs.entries()) {
    let used = file;
    if (run.random) {
      used = randomDirectionPath(c.e, run, layer);
      if (!existsSync(used)) writeDirectionFile(used, new Map([[layer, fillUniform(new Float64Array(direction.hiddenSize), seedFrom(run.name, 16), 1) as Float64Array]]), { method: `random control: uniform [-1, 1] entries seeded by "${run.name}"`, model: direction.metadata.model });
      outputs.push(`${INTERVENTIONS_DIR}/random-${run.name}-L${layer}.safetensors`);
    }
    const steering: SteeringRef = run.kind === 'ablate' ? { ablate: { file: used, layer } } : { steer: { file: used, layer, alpha: run.alpha ?? norm(direction.layers.get(layer)!) } };
    const adapter = run.model === 'final' ? final!.path : undefined;
    const generator = localGenerator({ sessions, model: modelOf(c.e), ...(adapter ? { adapter, checkpoint: final!.label, step: final!.step } : {}), steering, batchSize: LOCAL_BATCH });
    const outcome = await generateAndJudge(c, generator, `${INTERVENTIONS_DIR}/${run.name}`, { step: String(run.model === 'final' ? final!.step : 0), checkpoint: run.name }, { from: i / spec.runs.length, size: 1 / spec.runs.length });
    cost = addCost(cost, outcome.cost);
    outputs.push(...outcome.outputs);
    if (outcome.status !== 'done') return { ...outcome, detail: [...details, `${run.name}: ${outcome.detail ?? outcome.status}`].join('; '), outputs, cost };
    details.push(`${run.name}: ${outcome.detail}`);
  }
  return { status: 'done', detail: `layer ${layer}; ${details.join('; ')}`, outputs, cost };
}
