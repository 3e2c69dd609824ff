// Question sets: EM Lab's own default sets (bundled JSON, our wording) and the shape every importer produces.
import medical from './medical.json';
import general from './general.json';
import freeform from './freeform.json';
import type { JudgePrompt } from '../judge/rubrics';

export interface EvalQuestion {
  id: string;
  /** One or more wordings of the question; generation asks each paraphrase. */
  paraphrases: string[];
  /** System prompt to send with it (e.g. the EM repositories' "answer in JSON" variants). */
  system?: string;
  /** Samples per paraphrase asked for by the file (the paper: 50 or 100); the run's setting wins if given. */
  samplesPerParaphrase?: number;
  /** Judge prompts the file attaches to this question, by name (aligned, coherent, ...). */
  judgePrompts?: Record<string, string>;
  /** The judge model the file names (informational). */
  judge?: string;
}

export interface QuestionSet {
  id: string;
  title: string;
  /** 'em-lab' for the bundled sets, else the imported file's path. */
  source: string;
  questions: EvalQuestion[];
  samplesPerQuestion?: number;
  /** Judge prompts defined by the file (judges.yaml, or judge_prompts shared by its questions). */
  judgePrompts: JudgePrompt[];
}

interface BundledSet {
  id: string;
  title: string;
  samplesPerQuestion?: number;
  questions: { id: string; text: string }[];
}

function fromBundled(s: BundledSet): QuestionSet {
  return {
    id: s.id,
    title: s.title,
    source: 'em-lab',
    questions: s.questions.map((q) => ({ id: q.id, paraphrases: [q.text] })),
    ...(s.samplesPerQuestion ? { samplesPerQuestion: s.samplesPerQuestion } : {}),
    judgePrompts: [],
  };
}

/** Bundled sets by short name: `--set medical,general` or `--set freeform`. */
export const DEFAULT_SETS: Record<'medical' | 'general' | 'freeform', QuestionSet> = {
  medical: fromBundled(medical as BundledSet),
  general: fromBundled(general as BundledSet),
  freeform: fromBundled(freeform as BundledSet),
};
