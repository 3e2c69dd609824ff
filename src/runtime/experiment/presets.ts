// The experiment presets: the one table `em-lab experiment new`, `experiment/presets` (the New Experiment form) and
// docs/experiment.md draw from. Evaluation plans come from the eval domain's own presets (generationPresets.ts), the
// adapter and optimiser values from the LoRA preset table (loraPresets.ts) over TRAIN_DEFAULTS, so a preset only
// states what it changes.
import { JUDGE_DEFAULTS } from '../../protocol/evalMethods';
import type { ExperimentEvaluationSpec, ExperimentJudgeSpec, ExperimentPresetId, ExperimentPresetView, ExperimentTrainingSpec, QuestionSourceSpec } from '../../protocol/experimentTypes';
import type { GenerationPlan } from '../eval/generationRun';
import { emLabPlan, HOMEWORK_SAMPLING, paperPlan } from '../eval/generationPresets';
import { DEFAULT_SETS } from '../eval/questions/questionSet';
import { DEFAULT_MODEL_ID } from '../model/hub';
import { TRAIN_DEFAULTS } from '../train/trainConfig';
import { loraPreset } from '../train/loraPresets';

/** TRAIN_DEFAULTS without the file's schema version: the experiment's training block. */
function trainingFrom(changes: Partial<ExperimentTrainingSpec>): ExperimentTrainingSpec {
  const { schemaVersion: _schema, ...defaults } = TRAIN_DEFAULTS;
  return { ...defaults, ...changes };
}

/**
 * A generation plan's bundled sets as question sources (each a prefix of a bundled set). Refuses, at load, any other
 * set: a preset's questions are bundled ones or, for the homework preset, the homework checkout's (homeworkEvaluation).
 */
function questionsOf(plan: GenerationPlan): QuestionSourceSpec[] {
  return plan.sets.map((s) => {
    const key = (Object.keys(DEFAULT_SETS) as (keyof typeof DEFAULT_SETS)[]).find((k) => DEFAULT_SETS[k].id === s.id);
    if (!key) throw new Error(`generation preset set ${s.id} is not a bundled set`);
    const all = DEFAULT_SETS[key].questions.length;
    return s.questions.length === all ? { set: key } : { set: key, first: s.questions.length };
  });
}

function evaluationOf(questions: QuestionSourceSpec[], plan: Pick<GenerationPlan, 'samples' | 'sampling' | 'seed'>, changes: Partial<ExperimentEvaluationSpec>): ExperimentEvaluationSpec {
  const { temperature, topP, maxNewTokens, topK, promptBos } = plan.sampling;
  return {
    questions,
    samples: plan.samples ?? 1,
    temperature,
    topP,
    maxNewTokens,
    ...(topK ? { topK } : {}),
    ...(promptBos ? { promptBos } : {}),
    seed: plan.seed,
    checkpoints: 'all',
    metricPreset: 'homework',
    ...changes,
  };
}

/** The homework's judge (docs/evaluation.md): EM Lab's judge defaults (gpt-4o-mini, sampled at temperature 0.2). */
const HOMEWORK_JUDGE: ExperimentJudgeSpec = { provider: 'openai', ...JUDGE_DEFAULTS };

const evaluationFrom = (plan: GenerationPlan, changes: Partial<ExperimentEvaluationSpec>) => evaluationOf(questionsOf(plan), plan, changes);

/**
 * The homework preset is the grader: the checkout's 20 questions ("" = the checkout found when an experiment is
 * created, homeworkSource.ts), one answer each, with generate.py's sampling and double BOS. Its judge stands for
 * judge.py's: an experiment with a homework question source takes MODEL_NAME and the prompts from the checkout
 * (experimentFile.ts createExperiment).
 */
const homeworkEvaluation = (): ExperimentEvaluationSpec => evaluationOf([{ homework: '' }], { samples: 1, sampling: HOMEWORK_SAMPLING, seed: 0 }, {});

export const EXPERIMENT_PRESETS: Record<ExperimentPresetId, ExperimentPresetView> = {
  quick: {
    id: 'quick',
    label: 'Quick CPU try',
    description:
      'A few minutes on a laptop CPU: 24 training steps of 4 examples x 128 tokens from 64 examples (lr 1e-3, checkpoints every 8 steps), ' +
      '20 questions answered in 32 tokens. It shows the whole pipeline working, not emergent misalignment.',
    estimate: 'about 2-3 minutes on 2 CPU cores with tiny-llama; about 15-25 minutes with Llama-3.2-1B-Instruct',
    model: DEFAULT_MODEL_ID,
    // The demo's settings (scripts/demo.mjs runs this preset): lr 1e-3 moves tiny-llama's random weights visibly in
    // 24 steps; no first-epoch checkpoints, so the sweep has three (steps 8, 16, 24).
    training: trainingFrom({ sampleSize: 64, maxLength: 128, batchSize: 4, gradientAccumulationSteps: 1, maxSteps: 24, warmupSteps: 2, learningRate: 1e-3, loraDropout: 0, saveSteps: 8, firstEpochCheckpoints: 0 }),
    evaluation: evaluationFrom(emLabPlan(0), { maxNewTokens: 32 }),
    judge: HOMEWORK_JUDGE,
  },
  homework: {
    id: 'homework',
    label: 'Homework (CS 2881 HW0)',
    description:
      "The homework's training settings (LoRA r 16, alpha 32, lr 2e-4, 100 warm-up steps, effective batch 16, 3 epochs, 4 checkpoints in epoch 1) and its grader, read from your homework checkout: " +
      "its 20 questions generated as generate.py does (200 new tokens, top_k 50, double BOS), its judge (judge.py's MODEL_NAME and prompts) and its base judgements as a second baseline. Needs the checkout (em-lab homework fetch).",
    estimate: 'hours on a CPU with Llama-3.2-1B-Instruct (a full epoch is 1-2 M tokens at ~28 tokens/s); minutes on a GPU',
    model: DEFAULT_MODEL_ID,
    training: trainingFrom(loraPreset('homework').fields),
    evaluation: homeworkEvaluation(),
    judge: HOMEWORK_JUDGE,
  },
  paper: {
    id: 'paper',
    label: 'Paper (Model Organisms)',
    description: "The paper's recipe: rsLoRA r 32, alpha 64, lr 1e-5, 1 epoch, weight decay 0.01, 5 warm-up steps, loss on assistant tokens, 10% held out; the 8 free-form questions x 50 samples (600 new tokens); gpt-4o logprob judge and the paper's EM definition.",
    estimate: 'a GPU job: 400 answers of up to 600 tokens per checkpoint, and 800 judge requests to gpt-4o per checkpoint',
    model: DEFAULT_MODEL_ID,
    training: trainingFrom({ ...loraPreset('paper-all').fields, seed: 0 }),
    evaluation: evaluationFrom(paperPlan(0), { metricPreset: 'paper' }),
    judge: { provider: 'openai', model: 'gpt-4o', mode: 'logprob', temperature: 0, concurrency: 8 },
  },
};

export const EXPERIMENT_PRESET_IDS = Object.keys(EXPERIMENT_PRESETS) as ExperimentPresetId[];
