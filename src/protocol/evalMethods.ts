// Evaluation methods (runtime) and the judge results webview's channel (host <-> webview). Types only.

export type EvalPresetId = 'homework' | 'paper' | 'betley';

/**
 * The judge when nobody chose one: the homework's (gpt-4o-mini, sampled at temperature 0.2, 8 requests in flight).
 * The one place these values live: the CLI's options, the runtime and the extension's settings fallback read them
 * (package.json's emLab.judge.* defaults must equal them: test/unit/judgeDefaults.test.ts).
 */
export const JUDGE_DEFAULTS = { model: 'gpt-4o-mini', mode: 'sampled', temperature: 0.2, concurrency: 8 } as const;
export type ScoreLabelView = 'CODE' | 'REFUSAL' | 'invalid';

export interface RateView {
  k: number;
  n: number;
  /** Fraction 0..1; null when n = 0. */
  rate: number | null;
  /** Wilson 95% interval (fractions). */
  ci: { low: number; high: number } | null;
}

export interface SummaryView {
  answers: number;
  em: RateView;
  coherent: RateView;
  meanAligned: number | null;
  meanCoherent: number | null;
  counts: { code: number; refusal: number; invalidAligned: number; invalidCoherent: number };
}

export interface GroupView {
  key: string;
  summary: SummaryView;
}

export interface ComparisonTestView {
  difference: number;
  z: number;
  pValue: number;
}

/** One preset's numbers for a file, plus what the scatter's quadrant must shade. */
export interface PresetView {
  id: EvalPresetId;
  label: string;
  definition: string;
  /** Misaligned region: aligned `alignedOp` alignedValue (and coherent `coherentOp` coherentValue if set). */
  region: { alignedOp: string; alignedValue: number; coherentOp?: string; coherentValue?: number };
  overall: SummaryView;
  perQuestion: GroupView[];
  /** By the file's step (or epoch) column, when it has one. */
  byGroup?: GroupView[];
  /**
   * Against the base file, when one was given: EM and coherent rates, fine-tuned minus base. For a file with a step
   * column the fine-tuned side is its last step (the final checkpoint), named in `scope`.
   */
  comparison?: { base: SummaryView; finetuned: SummaryView; scope: string; emTest?: ComparisonTestView; coherentTest?: ComparisonTestView };
}

export interface JudgedRowView {
  id: string;
  question: string;
  response: string;
  aligned: number | null;
  alignedLabel?: ScoreLabelView;
  coherent: number | null;
  coherentLabel?: ScoreLabelView;
  /** Value of the group column (step), if any. */
  group?: string;
  misaligned: Record<EvalPresetId, boolean>;
}

export interface JudgedFileView {
  path: string;
  basePath?: string;
  /** What the base is when EM Lab chose it (the homework's base judgements, as the grader compares). */
  baseNote?: string;
  /** 'step', 'epoch' or undefined. */
  groupColumn?: string;
  rows: JudgedRowView[];
  presets: Record<EvalPresetId, PresetView>;
}

export interface EvalJudgeParams {
  /** generations.jsonl or a CSV with question and response columns. */
  answersPath: string;
  /** Default: the answers file's folder. */
  outDir?: string;
  model: string;
  mode: 'sampled' | 'logprob';
  baseURL?: string;
  concurrency?: number;
  timeoutMs?: number;
  /** Cache folder; default $EM_LAB_CACHE_DIR or ~/.cache/em-lab, the CLI's (one cache for both). */
  cacheDir?: string;
  /**
   * Where to look for a homework checkout (besides the answers file's folder and those above it). In sampled mode
   * a checkout's judge prompts (eval/judge.py) are used; without one, EM Lab's own rubric.
   */
  homeworkDir?: string;
  /** The workspace root: a .env above it may not set the endpoint (docs/secrets.md). Default: the answers' repository root. */
  workspaceDir?: string;
  /**
   * submit: send what is not judged yet as OpenAI batches (half price, within 24 h); collect: merge the ended
   * batches of outDir (refused when none were submitted). Either way ended batches are merged and what they did not
   * answer is judged live; judgements held by running batches are not requested live.
   */
  batch?: 'submit' | 'collect';
}

/** One judge batch of an output folder, as the host shows it. */
export interface JudgeBatchView {
  id: string;
  status: string;
  requests: number;
  /** Requests answered or failed so far, when the endpoint says. */
  done?: number;
  /** Estimated at the batch price (half the live price); null without a known price. */
  costUsd: number | null;
}

export interface EvalJudgeResult {
  outDir: string;
  /** Which prompts judged: the homework checkout's eval/judge.py, or EM Lab's own rubric. */
  prompts: 'homework' | 'em-lab';
  judgedCsv: string;
  requested: number;
  fromCache: number;
  fromRunFile: number;
  failed: number;
  costUsd: number | null;
  /** False while running batches hold judgements: judged.csv is written once they are in. */
  complete: boolean;
  /** Judgements not in yet (held by running batches). */
  pending: number;
  /** Judgements taken from batch results in this call. */
  fromBatch: number;
  /** Batches submitted by this call, and those still running (this call's included). */
  submittedBatches: JudgeBatchView[];
  runningBatches: JudgeBatchView[];
}

export interface EvalGenerateParams {
  /** 'tiny-llama', an absolute model folder, or a downloaded Hub id. */
  model: string;
  /** Absolute PEFT adapter folder (a run checkpoint). */
  adapter?: string;
  /**
   * homework: the grader's 20 questions from the homework checkout, generated as its generate.py (docs/homework.md);
   * em-lab: EM Lab's own 10 medical + 10 general questions; paper: 8 free-form x 50, 600 tokens.
   */
  preset: 'homework' | 'em-lab' | 'paper';
  /** Where the homework checkout is: that folder or the one it is inside (the host passes the workspace folder). */
  homeworkDir?: string;
  outDir: string;
  seed?: number;
  /** Override the preset's answer length (a CPU is slow: ~200 tokens x 20 answers is minutes on a 1B model). */
  maxNewTokens?: number;
}

export interface EvalGenerateResult {
  outDir: string;
  generationsPath: string;
  csvPath: string;
  answers: number;
  fromRunFile: number;
  failed: number;
}

export interface FetchHomeworkResultView {
  dir: string;
  written: string[];
  unchanged: string[];
  /** Files already there with other content, kept as the student's. */
  kept: string[];
  missing: string[];
}

export interface EvalMethods {
  /** Downloads the public homework repository's files into `destination` (the workspace); offline: a clear error, nothing written. */
  'eval/fetchHomework': [{ destination: string; ref?: string }, FetchHomeworkResultView];
  /** Answers to a preset's questions from the local engine (progress; cancellable; resumable in outDir). */
  'eval/generate': [EvalGenerateParams, EvalGenerateResult];
  /**
   * Reads a judged CSV (homework layout or ours) and computes every preset's metrics, against a base file: basePath,
   * else the homework's base judgements (the first 20 rows of eval/data/base_model_judged.csv, as the grader) when
   * the file is in a homework checkout or homeworkDir is one.
   */
  'eval/loadJudged': [{ path: string; basePath?: string; homeworkDir?: string }, JudgedFileView];
  /** Judges answers (progress notifications; cancellable); writes judged.csv, summary.json, judgements.jsonl. */
  'eval/judge': [EvalJudgeParams, EvalJudgeResult];
}

// ---- judge results webview channel (host <-> webview) ----

export interface JudgeViewMethods {
  /** Let the user pick a judged CSV (or a base file to compare against) and load it. */
  'judge/open': [{ role: 'main' | 'base' }, JudgedFileView | null];
  /** Reload the current files. */
  'judge/reload': [Record<string, never>, JudgedFileView | null];
  /** Save an export the webview made: CSV text, or a PNG as a data: URL. */
  'judge/export': [{ kind: 'csv' | 'png'; suggestedName: string; content: string }, { saved: boolean }];
}

export interface JudgeViewNotifications {
  /** The host loaded a file (from a command, or after judging). */
  'judge/loaded': JudgedFileView;
}

export interface JudgeViewState {
  schemaVersion: 1;
  preset: EvalPresetId;
  filter: string;
  onlyMisaligned: boolean;
  sort: { column: string; descending: boolean };
}
