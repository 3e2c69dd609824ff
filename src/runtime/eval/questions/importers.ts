// Importers for users' question files: YAML in the EM repositories' format (ids, paraphrases,
// samples_per_paraphrase, system prompts, judge prompts; also judges.yaml, a list of named judge prompts), plain
// text (one question per line), CSV with a `question` column, and Python files defining lists of strings.
import { readFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { UserError } from '../../errors';
import { parseCsv } from '../csv';
import type { JudgePrompt } from '../judge/rubrics';
import { parsePythonStringLists } from './pythonList';
import type { EvalQuestion, QuestionSet } from './questionSet';

function setId(path: string, suffix = ''): string {
  return basename(path, extname(path)) + suffix;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function stringMap(v: unknown): Record<string, string> | undefined {
  if (!isRecord(v)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) if (typeof val === 'string') out[k] = val;
  return out;
}

/** judges.yaml: a list of one-prompt maps, e.g. `- aligned: |- ...` with an optional `high_score`. */
function judgePromptsFromList(items: unknown[], path: string): JudgePrompt[] {
  const prompts: JudgePrompt[] = [];
  items.forEach((item, i) => {
    if (!isRecord(item)) throw new UserError('yaml-judges', `${path}: item ${i + 1} is not a map. A judges file lists entries like "- aligned: <prompt text>".`);
    for (const [name, v] of Object.entries(item)) if (typeof v === 'string' && name !== 'high_score') prompts.push({ name, template: v, source: path });
  });
  return prompts;
}

export function parseQuestionYaml(text: string, path: string): QuestionSet {
  let doc: unknown;
  try {
    doc = parseYaml(text, { maxAliasCount: 10_000 });
  } catch (err) {
    const pos = err instanceof YAMLParseError && err.linePos ? ` (line ${err.linePos[0].line}, column ${err.linePos[0].col})` : '';
    throw new UserError('yaml-syntax', `${path}${pos}: not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (!Array.isArray(doc)) throw new UserError('yaml-shape', `${path}: expected a list of questions ("- id: ...") or of judge prompts ("- aligned: ..."), found ${doc === null ? 'nothing' : typeof doc}.`);
  const looksLikeQuestions = doc.some((d) => isRecord(d) && ('paraphrases' in d || 'id' in d));
  if (!looksLikeQuestions) return { id: setId(path), title: `Judge prompts from ${basename(path)}`, source: path, questions: [], judgePrompts: judgePromptsFromList(doc, path) };

  const questions: EvalQuestion[] = [];
  const judgePrompts = new Map<string, JudgePrompt>();
  doc.forEach((item, i) => {
    const at = `${path}: question ${i + 1}`;
    if (!isRecord(item)) throw new UserError('yaml-question', `${at} is not a map with id and paraphrases.`);
    const id = item.id;
    if (typeof id !== 'string' || !id) throw new UserError('yaml-question-id', `${at} has no "id" (a non-empty string).`);
    const paraphrases = item.paraphrases;
    if (!Array.isArray(paraphrases) || !paraphrases.length || !paraphrases.every((p) => typeof p === 'string' && p.trim())) {
      throw new UserError('yaml-question-paraphrases', `${at} ("${id}") needs "paraphrases": a non-empty list of question texts.`);
    }
    const spp = item.samples_per_paraphrase;
    if (spp !== undefined && (typeof spp !== 'number' || !Number.isInteger(spp) || spp < 1)) throw new UserError('yaml-question-samples', `${at} ("${id}"): samples_per_paraphrase must be a positive integer, got ${JSON.stringify(spp)}.`);
    const prompts = stringMap(item.judge_prompts);
    for (const [name, template] of Object.entries(prompts ?? {})) if (!judgePrompts.has(name)) judgePrompts.set(name, { name, template, source: path });
    questions.push({
      id,
      paraphrases: paraphrases as string[],
      ...(typeof item.system === 'string' ? { system: item.system } : {}),
      ...(typeof spp === 'number' ? { samplesPerParaphrase: spp } : {}),
      ...(prompts ? { judgePrompts: prompts } : {}),
      ...(typeof item.judge === 'string' ? { judge: item.judge } : {}),
    });
  });
  const dup = questions.find((q, i) => questions.findIndex((x) => x.id === q.id) !== i);
  if (dup) throw new UserError('yaml-duplicate-id', `${path}: the id "${dup.id}" is used twice; ids must be unique.`);
  return { id: setId(path), title: basename(path), source: path, questions, judgePrompts: [...judgePrompts.values()] };
}

export function parseQuestionText(text: string, path: string): QuestionSet {
  const lines = text.replace(/^\ufeff/, '').split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  if (!lines.length) throw new UserError('text-empty', `${path}: no questions (one per line; lines starting with # are comments).`);
  const id = setId(path);
  return { id, title: basename(path), source: path, questions: lines.map((q, i) => ({ id: `${id}_${i + 1}`, paraphrases: [q] })), judgePrompts: [] };
}

export function parseQuestionCsv(text: string, path: string): QuestionSet {
  const { header, rows } = parseCsv(text, path);
  if (!header.includes('question')) throw new UserError('csv-question-column', `${path}: no "question" column (found: ${header.join(', ') || 'nothing'}). Add a header row with a column named question.`);
  const id = setId(path);
  const questions = rows.filter((r) => r.question?.trim()).map((r, i) => ({ id: r.id?.trim() || `${id}_${i + 1}`, paraphrases: [r.question!.trim()] }));
  if (!questions.length) throw new UserError('csv-empty', `${path}: the question column is empty.`);
  return { id, title: basename(path), source: path, questions, judgePrompts: [] };
}

/** A Python file can define several lists (e.g. MEDICAL_PROMPTS and GENERAL_PROMPTS): one set each. */
export function parseQuestionPython(text: string, path: string): QuestionSet[] {
  return parsePythonStringLists(text, path).map((l) => {
    const id = `${setId(path)}.${l.name}`;
    return { id, title: `${l.name} (${basename(path)})`, source: path, questions: l.items.map((q, i) => ({ id: `${l.name.toLowerCase()}_${i + 1}`, paraphrases: [q] })), judgePrompts: [] };
  });
}

export async function importQuestionFile(path: string): Promise<QuestionSet[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new UserError('file-not-found', `Cannot read question file ${path}: ${(err as Error).message}.`);
  }
  const ext = extname(path).toLowerCase();
  if (ext === '.yaml' || ext === '.yml') return [parseQuestionYaml(text, path)];
  if (ext === '.csv') return [parseQuestionCsv(text, path)];
  if (ext === '.py') return parseQuestionPython(text, path);
  if (ext === '.txt' || ext === '') return [parseQuestionText(text, path)];
  throw new UserError('unknown-question-format', `${path}: unknown question file type "${ext}". Use .yaml/.yml (EM repositories' format), .csv (a question column), .txt (one per line) or .py (lists of strings).`);
}
