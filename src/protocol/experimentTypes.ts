// An experiment: one experiment.json (every choice, written once by `em-lab experiment new` or "EM Lab: New
// Experiment") and the folder the staged runner fills beside it (docs/experiment.md). Types only, plus the stage
// order; imported by the runtime, the host and the webviews. Persisted shapes carry schemaVersion; later issues add
// fields, never change or remove them.
import type { ComparisonTestView, EvalPresetId, RateView, SummaryView } from './evalMethods';
import type { RunView, TrainConfigView } from './trainMethods';

export const EXPERIMENT_SCHEMA_VERSION = 1;

/** quick: a few minutes on a laptop CPU; homework: CS 2881 HW0's settings; paper: the Model Organisms paper's. */
export type ExperimentPresetId = 'quick' | 'homework' | 'paper';

/** The stages, in the order they run. `report` always runs last and reads whatever the others left on disk. */
export type ExperimentStageId = 'base' | 'train' | 'sweep' | 'report';
export const EXPERIMENT_STAGES: readonly ExperimentStageId[] = ['base', 'train', 'sweep', 'report'];

// ---- experiment.json ----

/**
 * Where evaluation questions come from: a bundled set (EM Lab's medical / general / free-form questions), a file
 * (.yaml as the EM repositories write them, .csv with a question column, .txt, .py lists), or the grader's questions
 * in a homework checkout (HomeworkQuestionSource). `first` keeps the first N. Paths are relative to the experiment
 * folder unless absolute.
 */
export type QuestionSourceSpec = { set: 'medical' | 'general' | 'freeform'; first?: number } | { file: string; first?: number } | HomeworkQuestionSource;

/**
 * The grader's questions from a CS 2881 HW0 homework checkout (docs/homework.md): MEDICAL_QUESTIONS[:10] +
 * NON_MEDICAL_QUESTIONS[:10] of its eval/prompts/*.py, in that order (20 questions; `first` keeps the first N of them).
 */
export interface HomeworkQuestionSource {
  /**
   * The checkout folder (the one holding eval/judge.py and eval/prompts/), relative to the experiment folder unless
   * absolute. "" (a preset's value, or in ExperimentCreateParams) = the checkout found when the experiment is
   * created: ExperimentCreateParams.homeworkDir, else the experiment folder or the workspace folder or a folder above
   * them; experiment.json always holds the folder that was found.
   */
  homework: string;
  first?: number;
  /** sha256 (hex) of the 20 questions as read when the experiment was created; a run refuses a checkout whose questions changed since. */
  sha256?: string;
}

export interface ExperimentDataSpec {
  /** Known dataset ids (bad_medical, risky_financial, ...) found in dataDir; several = their union. */
  domains: string[];
  /** Extra JSONL files of {"messages": [...]} conversations; relative to the experiment folder unless absolute. */
  files: string[];
  /** Folder holding the decrypted datasets; relative to the experiment folder unless absolute. */
  dataDir?: string;
}

/** openai: api.openai.com (key needed); openai-compatible: any URL (vLLM, Ollama, Azure, a local server); none: answers are generated but not scored. */
export type JudgeProvider = 'openai' | 'openai-compatible' | 'none';

export interface ExperimentJudgeSpec {
  provider: JudgeProvider;
  /** Judge model, e.g. gpt-4o-mini (homework) or gpt-4o (paper). */
  model: string;
  /** The endpoint for openai-compatible (required there), e.g. http://127.0.0.1:8000/v1. */
  baseURL?: string;
  /** sampled: the homework's (temperature, integer reply); logprob: the paper's (top_logprobs 20, weighted mean). */
  mode: 'sampled' | 'logprob';
  /** Sampled mode's temperature (the homework: 0.2). */
  temperature: number;
  /** Requests in flight at once (a ceiling; 429s lower it). */
  concurrency: number;
  /**
   * A judges.yaml (or EM question YAML) whose aligned / coherent prompts replace EM Lab's rubrics, or a homework
   * checkout's eval/judge.py (its ALIGNED_PROMPT / COHERENT_PROMPT, read as data: the grader's judge); relative to the
   * experiment folder unless absolute. In ExperimentCreateParams also "homework" (the question source's checkout's
   * eval/judge.py) or "em-lab" (EM Lab's rubrics: no prompts field).
   */
  prompts?: string;
  /**
   * Judge through the Batch API (half price, within 24 h; docs/scale-out.md): a stage submits its judgements and is
   * blocked while the batches run; the next `experiment run` collects the ended ones (leftovers are judged live).
   */
  batch?: boolean;
}

export interface ExperimentEvaluationSpec {
  questions: QuestionSourceSpec[];
  /** Answers per question (per paraphrase). */
  samples: number;
  temperature: number;
  topP: number;
  /** Longest answer, in tokens. */
  maxNewTokens: number;
  /** Answer i of the plan samples with seed + i; the base model and every checkpoint get the same seeds. */
  seed: number;
  /** Keep the k most likely tokens (absent = off; the homework preset: 50, transformers' default that the grader keeps). */
  topK?: number;
  /** How the prompt is tokenized: single (the chat template's own tokens; absent = single) or double (as the grader's generate.py: a second BOS; the homework preset). */
  promptBos?: 'single' | 'double';
  /** Which checkpoints the sweep evaluates: every one the run wrote, or only the final adapter. */
  checkpoints: 'all' | 'final';
  /** The EM definition the report's charts, table and test use (the others are in each summary.json). */
  metricPreset: EvalPresetId;
  /**
   * Generate on an OpenAI-compatible server (vLLM, em-lab serve) instead of EM Lab's engine: the base stage asks the
   * base model, the sweep registers each checkpoint at run time (/v1/load_lora_adapter) and unloads it after its
   * answers (docs/scale-out.md). Absent: EM Lab's own engine. Training always runs here.
   */
  server?: ExperimentGenerationServerSpec;
}

export interface ExperimentGenerationServerSpec {
  /** The server's /v1 URL, e.g. http://gpu-node:8000/v1. */
  baseURL: string;
  /** The base model's name at the server. Default: the experiment's `model`. */
  model?: string;
  /** Most completions per request for samples of one question (1 = off). Default 8. */
  n?: number;
  /** "LOCAL=REMOTE" path prefixes: where the server sees the checkpoint folders (it reads them itself). */
  loraPathMap?: string[];
}

/** Every training hyperparameter (TrainConfigView documents each); model and data are the experiment's own fields. */
export type ExperimentTrainingSpec = Omit<TrainConfigView, 'model' | 'domains' | 'dataFiles' | 'dataDir' | 'initAdapter'>;

/** <experiment>/experiment.json. Everything is resolved when it is written: a preset's defaults are copied in, so a later EM Lab with other preset defaults runs the same experiment. */
export interface ExperimentFile {
  schemaVersion: number;
  kind: 'em-lab-experiment';
  /** Folder name by default; letters, digits, '.', '_' and '-'. */
  name: string;
  description?: string;
  createdAt: string;
  /** The EM Lab version that wrote the file. */
  emLabVersion: string;
  /** The preset the choices started from (informational: its values are copied into the fields below). */
  preset: ExperimentPresetId;
  /** 'tiny-llama' (built in, offline), a Hub id (meta-llama/Llama-3.2-1B-Instruct, downloaded on first use), or a model folder (relative to the experiment folder unless absolute). */
  model: string;
  data: ExperimentDataSpec;
  training: ExperimentTrainingSpec;
  evaluation: ExperimentEvaluationSpec;
  judge: ExperimentJudgeSpec;
  /**
   * An experiment grid (docs/scale-out.md): field path -> values, e.g. {"training.seed": [0, 1]}. Cell K (row-major,
   * the last key fastest) is an ordinary experiment in cells/K/experiment.json; `experiment submit --slurm` runs
   * each as one array task, `experiment run` runs them here one by one.
   */
  grid?: Record<string, unknown[]>;
}

// ---- presets and creation ----

export interface ExperimentPresetView {
  id: ExperimentPresetId;
  label: string;
  description: string;
  /** Rough cost in words, e.g. "about 3 minutes on 2 CPU cores with tiny-llama". */
  estimate: string;
  /** The model the preset suggests (the New Experiment form's default). */
  model: string;
  training: ExperimentTrainingSpec;
  evaluation: ExperimentEvaluationSpec;
  judge: ExperimentJudgeSpec;
}

/** What New Experiment (or `em-lab experiment new`) chose; everything not given comes from the preset. */
export interface ExperimentCreateParams {
  preset: ExperimentPresetId;
  /** Default: <experimentsDir>/<name>. */
  dir?: string;
  /** Where experiments live (the extension: <workspace>/em-lab-runs). Needed when dir is not given. */
  experimentsDir?: string;
  /** Default: <model>-<data>-<preset>-<time>. */
  name?: string;
  description?: string;
  /** Default: the preset's model. */
  model?: string;
  data: { domains?: string[]; files?: string[]; dataDir?: string };
  /** Default: the preset's questions. */
  questions?: QuestionSourceSpec[];
  /**
   * The homework checkout for a homework question source whose folder is "" (the homework preset's); relative to
   * workspaceDir. Default: the experiment folder or workspaceDir, or a folder above either, that is a checkout.
   */
  homeworkDir?: string;
  /** Default: the preset's judge. Fields not given come from the preset's judge. */
  judge?: Partial<ExperimentJudgeSpec> & { provider: JudgeProvider };
  training?: Partial<ExperimentTrainingSpec>;
  evaluation?: Partial<Omit<ExperimentEvaluationSpec, 'questions'>>;
  /** Relative paths in this request resolve against it (default: the runtime's working directory). */
  workspaceDir?: string;
  /** Replace an existing experiment.json in dir (its stages' outputs stay and are reused when they still match). */
  overwrite?: boolean;
}

// ---- status on disk and in views ----

/**
 * pending: not run yet; running; done; blocked: cannot run until something outside EM Lab changes (a judge key, the
 * network, a downloaded model, a finished training run), said in `reason` and `fix`; failed: an error while running
 * (`reason`); cancelled: stopped by the user; interrupted: the runner process died mid-stage (a reader's view).
 */
export type StageStatus = 'pending' | 'running' | 'done' | 'blocked' | 'failed' | 'cancelled' | 'interrupted';

/**
 * set-judge-key: OPENAI_API_KEY is missing (VS Code: "EM Lab: Set OpenAI API Key"); pull-model: the base model is
 * not downloaded (`em-lab model pull`); get-training-data: the datasets are not decrypted; finish-training: the sweep
 * waits for checkpoints; check-network: an endpoint could not be reached; edit-experiment: experiment.json has a
 * wrong value; run-again: a transient failure, rerunning continues where it stopped.
 */
export type StageFixAction = 'set-judge-key' | 'pull-model' | 'get-training-data' | 'finish-training' | 'check-network' | 'edit-experiment' | 'run-again';

export interface StageProgressView {
  message: string;
  /** 0..1 within this stage. */
  fraction?: number;
}

export interface StageCostView {
  /** Wall seconds, summed over every run of the stage. */
  seconds: number;
  answersGenerated: number;
  judgeRequests: number;
  promptTokens: number;
  completionTokens: number;
  /** Judge cost in USD (OpenAI list prices); null when the judge model has no known price. */
  usd: number | null;
  trainSteps?: number;
  /** Non-padding tokens the training stage processed. */
  trainTokens?: number;
}

export interface StageView {
  id: ExperimentStageId;
  title: string;
  status: StageStatus;
  progress?: StageProgressView;
  /** Why it is blocked / failed / cancelled. */
  reason?: string;
  /** What to do about it, worded for the terminal (a CLI command, an environment variable, a file to fix). */
  fix?: string;
  /** The same fix as a machine-readable action, so a view can offer its own button instead of the CLI wording. */
  fixAction?: StageFixAction;
  /** What it did, in words ("20 answers generated, 20 judged"). */
  detail?: string;
  startedAt?: string;
  finishedAt?: string;
  /** Files and folders it wrote, relative to the experiment folder. */
  outputs: string[];
  cost: StageCostView;
}

export interface ExperimentStatusView {
  /** The experiment folder (absolute). */
  dir: string;
  file: string;
  name: string;
  preset: ExperimentPresetId;
  model: string;
  /** A runner process is alive (its pid; on another host, its heartbeat is recent). */
  running: boolean;
  pid?: number;
  /** The machine the runner runs on (a cluster node), when the runner recorded it. */
  host?: string;
  /** Last write by the runner (ISO time). */
  heartbeat?: string;
  stages: StageView[];
  /** Every stage is done. */
  complete: boolean;
}

// ---- the report ----

export interface LossPointView {
  step: number;
  /** Mean NLL per supervised token over the optimizer step (nats). */
  loss: number;
  lr: number;
  /** Held-out loss (nats), on eval steps. */
  evalLoss?: number;
}

export interface StepPointView {
  /** Training step; 0 = the base model. */
  step: number;
  /** 'base' or the checkpoint folder name. */
  label: string;
  answers: number;
  em: RateView;
  coherent: RateView;
  meanAligned: number | null;
  meanCoherent: number | null;
}

export interface ExampleAnswerView {
  response: string;
  aligned: number | null;
  alignedLabel?: string;
  coherent: number | null;
  /** Misaligned under the report's preset. */
  misaligned: boolean;
}

export interface ExampleView {
  questionId: string;
  question: string;
  base?: ExampleAnswerView;
  finetuned?: ExampleAnswerView;
  /** Shown only behind the content warning (a fine-tuned answer judged misaligned, or trained on harmful data). */
  flagged: boolean;
}

export interface ReportCommandView {
  title: string;
  /** A shell command line, run from `cwd`. */
  command: string;
  cwd: string;
}

/** The report, computed from the experiment folder alone (the same for the CLI and the extension). */
export interface ExperimentReport {
  schemaVersion: number;
  generatedAt: string;
  /** The EM Lab version that computed this report. */
  emLabVersion: string;
  experiment: { name: string; dir: string; preset: ExperimentPresetId; createdAt: string; emLabVersion: string; description?: string };
  setup: {
    model: string;
    /** The data the run trained on (its data_manifest.json), else what experiment.json asks for. */
    data: { id: string; file: string; rows?: number; used?: number; harmful: boolean }[];
    training: ExperimentTrainingSpec;
    trainExamples?: number;
    evalExamples?: number;
    totalSteps?: number;
    device?: string;
    /** What the training run did (train/run.json): the one epoch story `train status` and training_details.md tell. */
    run?: TrainingRunStoryView;
    evaluation: ExperimentEvaluationSpec & { answersPerModel: number; questionSets: { id: string; title: string; questions: number }[] };
    judge: ExperimentJudgeSpec;
    metricPreset: { id: EvalPresetId; label: string; definition: string };
  };
  stages: StageView[];
  /** One point per optimizer step; null before training wrote any. */
  loss: LossPointView[] | null;
  /** EM and coherence under the report's preset, base (step 0) and every judged checkpoint, in step order; null when nothing is judged. */
  byStep: StepPointView[] | null;
  /** Base vs the last judged checkpoint, with the pooled two-proportion z-test (two-sided); null without both. */
  comparison: { preset: EvalPresetId; base: SummaryView; finetuned: SummaryView; finetunedStep: number; finetunedLabel: string; emTest?: ComparisonTestView; coherentTest?: ComparisonTestView } | null;
  examples: ExampleView[];
  /** The warning shown before flagged examples; null when none is flagged. */
  contentWarning: string | null;
  /** Per stage, plus the total. */
  costs: { stage: ExperimentStageId | 'total'; cost: StageCostView }[];
  /** Commands that reproduce the experiment (experiment.json recreated, then run). */
  commands: ReportCommandView[];
  /** What is missing and why (a blocked judge, an unfinished run), in words. */
  notes: string[];
  /** The homework's own base judgements, beside EM Lab's base stage: present when the questions are a homework checkout's and it has eval/data/base_model_judged.csv. */
  homeworkBaseline?: HomeworkBaselineView;
}

/** The run's steps and epoch fields (as RunView documents them), and the same in words. */
export interface TrainingRunStoryView extends Pick<RunView, 'status' | 'step' | 'totalSteps' | 'epochsDone' | 'epochsCompleted' | 'epochInProgress' | 'numEpochs' | 'stopReason'> {
  /** In words, as `em-lab train status` says it: "finished (--max_steps 24 reached): step 24/24, 1.50 of 3 configured epochs (1 completed, stopped partway through epoch 2)". */
  summary: string;
}

export interface HomeworkBaselineView {
  /** The checkout's eval/data/base_model_judged.csv (absolute). */
  path: string;
  /** What the baseline is, in words. */
  note: string;
  /**
   * The homework's base rows (the first 20, the ones run_tests.py compares with), EM Lab's base stage and the last
   * judged checkpoint, in that order (those judged so far): each under the report's metric preset, with the grader's
   * averages by run_tests.py's rules (the homework's base file: a row counts when both cells are integers; judged
   * answers: each integer score counts on its own).
   */
  rows: HomeworkBaselineRowView[];
  /** The last judged checkpoint vs the homework's base rows, under the report's metric preset (pooled two-proportion z-test). */
  comparison?: { finetunedStep: number; finetunedLabel: string; emTest?: ComparisonTestView; coherentTest?: ComparisonTestView };
}

export interface HomeworkBaselineRowView {
  label: string;
  source: 'homework-base' | 'base' | 'checkpoint';
  summary: SummaryView;
  /** The grader's "aligned = ..., coherent = ..." (0 with no scores, as the grader prints). */
  graderAligned: number;
  graderCoherent: number;
  /** How many scores each average is over. */
  alignedScores: number;
  coherentScores: number;
}
