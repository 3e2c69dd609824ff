// experiment.json: written once from a preset plus the user's choices (createExperiment: `em-lab experiment new`
// and `experiment/create` both call it), read back with every field checked (readExperiment), and turned into what
// the existing services take: a TrainConfig, a GenerationPlan, judge settings. Relative paths in the file are
// relative to the experiment folder.
import { runFolderName } from '../train/runDir';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { ExperimentCreateParams, ExperimentEvaluationSpec, ExperimentFile, ExperimentGenerationServerSpec, ExperimentJudgeSpec, ExperimentTrainingSpec, QuestionSourceSpec } from '../../protocol/experimentTypes';
import { EXPERIMENT_SCHEMA_VERSION } from '../../protocol/experimentTypes';
import { UserError } from '../errors';
import { RUNTIME_VERSION } from '../version';
import { isRepoId } from '../model/hub';
import { TINY_LLAMA_ID } from '../model/tinyLlama';
import { TRAINING_DATA_DIR } from '../data/registry';
import { PRESETS } from '../eval/presets';
import { TRAIN_DEFAULTS, TRAIN_CONFIG_SCHEMA, validateTrainConfig, type TrainConfig } from '../train/trainConfig';
import { optionByFlag } from '../../protocol/trainOptions';
import { writeJsonAtomic } from '../train/adapterIO';
import { HOMEWORK_FILES, homeworkDirFrom, loadHomework, type HomeworkCheckout } from '../eval/homework/checkout';
import { EXPERIMENT_PRESETS } from './presets';
import { cellDir, cellExperiment, expandGrid, parseGrid, type JsonObject } from '../cluster/grid';
import { findCheckoutForCreate, homeworkQuestionsSha, isHomeworkSource, noCheckoutMessage } from './homeworkSource';

export const EXPERIMENT_FILE = 'experiment.json';

export interface LoadedExperiment {
  dir: string;
  file: string;
  experiment: ExperimentFile;
}

/** An experiment folder or its experiment.json -> both paths. */
export function experimentPaths(path: string, cwd = process.cwd()): { dir: string; file: string } {
  const p = resolve(cwd, path);
  const isDir = existsSync(p) && statSync(p).isDirectory();
  const file = isDir ? join(p, EXPERIMENT_FILE) : p;
  return { dir: dirname(file), file };
}

/** A path as experiment.json stores it: relative to the experiment folder when that stays readable, else absolute. */
function storedPath(dir: string, absolute: string): string {
  const rel = relative(dir, absolute);
  const ups = rel.split(sep).filter((s) => s === '..').length;
  return rel && !isAbsolute(rel) && ups <= 3 ? rel.split(sep).join('/') : absolute;
}

/** A path from experiment.json, absolute. */
export function fromExperiment(dir: string, stored: string): string {
  return resolve(dir, stored);
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

function defaultName(model: string, data: ExperimentFile['data'], preset: string): string {
  return runFolderName(model, data.domains, data.files, preset);
}

function bad(field: string, message: string): never {
  throw new UserError('experiment-invalid', `${field} ${message}`);
}

function checkKeys(obj: object, allowed: readonly string[], where: string): void {
  for (const k of Object.keys(obj)) if (!allowed.includes(k)) bad(`${where}.${k}`, `is not an experiment setting (known: ${allowed.join(', ')}).`);
}

const TRAINING_KEYS = Object.keys(TRAIN_DEFAULTS).filter((k) => k !== 'schemaVersion');

/** The TrainConfig the training stage runs: the file's training block plus its model and data, paths absolute. */
export function trainConfigOf(e: LoadedExperiment): TrainConfig {
  const x = e.experiment;
  return {
    schemaVersion: TRAIN_CONFIG_SCHEMA,
    ...x.training,
    model: modelOf(e),
    domains: [...x.data.domains],
    dataFiles: x.data.files.map((f) => fromExperiment(e.dir, f)),
    ...(x.data.dataDir ? { dataDir: fromExperiment(e.dir, x.data.dataDir) } : {}),
  } as TrainConfig;
}

/** tiny-llama and Hub ids as written; a folder made absolute. */
export function modelOf(e: LoadedExperiment): string {
  const m = e.experiment.model;
  return m === TINY_LLAMA_ID || isRepoId(m) ? m : fromExperiment(e.dir, m);
}

const EVALUATION_KEYS = ['questions', 'samples', 'temperature', 'topP', 'maxNewTokens', 'topK', 'promptBos', 'seed', 'checkpoints', 'metricPreset', 'server'];

function validateEvaluation(v: ExperimentEvaluationSpec, where: string): void {
  checkKeys(v, EVALUATION_KEYS, where);
  if (!Array.isArray(v.questions) || v.questions.length === 0) bad(`${where}.questions`, 'must list at least one question source, e.g. [{"set": "medical", "first": 10}].');
  const shapes = 'must be {"set": "medical"}, {"file": "questions.yaml"} or {"homework": "<homework checkout folder>"}.';
  v.questions.forEach((q: QuestionSourceSpec, i) => {
    const at = `${where}.questions[${i}]`;
    if (typeof q !== 'object' || q === null) bad(at, shapes);
    if ('set' in q) {
      if (!['medical', 'general', 'freeform'].includes(q.set)) bad(`${at}.set`, `"${q.set}" is not a bundled set (medical, general, freeform).`);
    } else if (isHomeworkSource(q)) {
      if (typeof q.homework !== 'string' || !q.homework) bad(`${at}.homework`, 'must name the homework checkout folder (relative to the experiment folder, or absolute); `em-lab experiment new --questions homework` finds and writes it.');
      if (q.sha256 !== undefined && !(typeof q.sha256 === 'string' && /^[0-9a-f]{64}$/.test(q.sha256))) bad(`${at}.sha256`, `must be the 64 hex digits EM Lab wrote (or be removed), got ${JSON.stringify(q.sha256)}.`);
    } else if (!('file' in q) || typeof q.file !== 'string' || !q.file) bad(at, shapes);
    if (q.first !== undefined && !(Number.isInteger(q.first) && q.first >= 1)) bad(`${at}.first`, `must be a positive whole number, got ${q.first}.`);
  });
  if (v.topK !== undefined && !(Number.isInteger(v.topK) && v.topK >= 0)) bad(`${where}.topK`, `must be a whole number >= 0 (0 or absent = off), got ${v.topK}.`);
  if (v.promptBos !== undefined && v.promptBos !== 'single' && v.promptBos !== 'double') bad(`${where}.promptBos`, `must be "single" or "double", got ${JSON.stringify(v.promptBos)}.`);
  if (!(Number.isInteger(v.samples) && v.samples >= 1)) bad(`${where}.samples`, `must be a positive whole number, got ${v.samples}.`);
  if (!(typeof v.temperature === 'number' && v.temperature >= 0 && v.temperature <= 2)) bad(`${where}.temperature`, `must be in [0, 2], got ${v.temperature}.`);
  if (!(typeof v.topP === 'number' && v.topP > 0 && v.topP <= 1)) bad(`${where}.topP`, `must be in (0, 1], got ${v.topP}.`);
  if (!(Number.isInteger(v.maxNewTokens) && v.maxNewTokens >= 1)) bad(`${where}.maxNewTokens`, `must be a positive whole number, got ${v.maxNewTokens}.`);
  if (!(Number.isInteger(v.seed) && v.seed >= 0)) bad(`${where}.seed`, `must be a whole number >= 0, got ${v.seed}.`);
  if (v.checkpoints !== 'all' && v.checkpoints !== 'final') bad(`${where}.checkpoints`, `must be "all" or "final", got ${JSON.stringify(v.checkpoints)}.`);
  if (!(v.metricPreset in PRESETS)) bad(`${where}.metricPreset`, `must be one of ${Object.keys(PRESETS).join(', ')}, got ${JSON.stringify(v.metricPreset)}.`);
  if (v.server !== undefined) validateServer(v.server, `${where}.server`);
}

function validateServer(s: ExperimentGenerationServerSpec, where: string): void {
  if (typeof s !== 'object' || s === null || Array.isArray(s)) bad(where, 'must be {"baseURL": "http://HOST:PORT/v1"} (a vLLM or em-lab serve endpoint), or be left out to generate with EM Lab\'s engine.');
  checkKeys(s, ['baseURL', 'model', 'n', 'loraPathMap'], where);
  if (typeof s.baseURL !== 'string' || !/^https?:\/\/\S+$/.test(s.baseURL)) bad(`${where}.baseURL`, `must be the server's http(s) URL, e.g. http://127.0.0.1:8000/v1, got ${JSON.stringify(s.baseURL)}.`);
  if (s.model !== undefined && (typeof s.model !== 'string' || !s.model)) bad(`${where}.model`, `must be the base model's name at the server, got ${JSON.stringify(s.model)}.`);
  if (s.n !== undefined && !(Number.isInteger(s.n) && s.n >= 1 && s.n <= 128)) bad(`${where}.n`, `must be a whole number from 1 (no n requests) to 128, got ${JSON.stringify(s.n)}.`);
  if (s.loraPathMap !== undefined) {
    if (!Array.isArray(s.loraPathMap)) bad(`${where}.loraPathMap`, 'must be a list of "LOCAL=REMOTE" strings.');
    // Absolute on both sides: the map is about two machines' file systems, not this folder.
    for (const m of s.loraPathMap) if (typeof m !== 'string' || !/^\/[^=]*=\/./.test(m)) bad(`${where}.loraPathMap`, `has ${JSON.stringify(m)}: expected "LOCAL=REMOTE" with absolute paths, e.g. "/home/me/em-lab-runs=/mnt/shared/em-lab-runs".`);
  }
}

function validateJudge(j: ExperimentJudgeSpec, where: string): void {
  checkKeys(j, ['provider', 'model', 'baseURL', 'mode', 'temperature', 'concurrency', 'prompts', 'batch'], where);
  if (j.batch !== undefined && typeof j.batch !== 'boolean') bad(`${where}.batch`, `must be true or false, got ${JSON.stringify(j.batch)}.`);
  if (!['openai', 'openai-compatible', 'none'].includes(j.provider)) bad(`${where}.provider`, `must be openai, openai-compatible or none, got ${JSON.stringify(j.provider)}.`);
  if (j.provider === 'openai-compatible' && !j.baseURL) bad(`${where}.baseURL`, 'is needed for an openai-compatible judge (e.g. http://127.0.0.1:8000/v1).');
  if (j.baseURL !== undefined && !/^https?:\/\/\S+$/.test(j.baseURL)) bad(`${where}.baseURL`, `must be an http(s) URL, got ${JSON.stringify(j.baseURL)}.`);
  if (typeof j.model !== 'string' || !j.model) bad(`${where}.model`, 'must name the judge model, e.g. gpt-4o-mini.');
  if (j.mode !== 'sampled' && j.mode !== 'logprob') bad(`${where}.mode`, `must be sampled or logprob, got ${JSON.stringify(j.mode)}.`);
  if (!(typeof j.temperature === 'number' && j.temperature >= 0 && j.temperature <= 2)) bad(`${where}.temperature`, `must be in [0, 2], got ${j.temperature}.`);
  if (!(Number.isInteger(j.concurrency) && j.concurrency >= 1)) bad(`${where}.concurrency`, `must be a positive whole number, got ${j.concurrency}.`);
}

/** Checks every field; messages name the field as experiment.json spells it. */
export function validateExperiment(x: ExperimentFile, file: string): void {
  const where = basename(file);
  if (typeof x !== 'object' || x === null) bad(where, 'must hold a JSON object.');
  if (x.kind !== 'em-lab-experiment') bad(`${where}: kind`, `must be "em-lab-experiment" (is this an EM Lab experiment file?), got ${JSON.stringify(x.kind)}.`);
  if (typeof x.schemaVersion !== 'number' || x.schemaVersion > EXPERIMENT_SCHEMA_VERSION) bad(`${where}: schemaVersion`, `${x.schemaVersion} was written by a newer EM Lab (this one reads ${EXPERIMENT_SCHEMA_VERSION}). Update EM Lab.`);
  checkKeys(x, ['schemaVersion', 'kind', 'name', 'description', 'createdAt', 'emLabVersion', 'preset', 'model', 'data', 'training', 'evaluation', 'judge', 'grid'], where);
  if (typeof x.name !== 'string' || !NAME.test(x.name)) bad(`${where}: name`, `must use letters, digits, ".", "_" and "-", got ${JSON.stringify(x.name)}.`);
  if (!(x.preset in EXPERIMENT_PRESETS)) bad(`${where}: preset`, `must be one of ${Object.keys(EXPERIMENT_PRESETS).join(', ')}, got ${JSON.stringify(x.preset)}.`);
  if (typeof x.model !== 'string' || !x.model) bad(`${where}: model`, `must be ${TINY_LLAMA_ID}, a Hub id or a model folder.`);
  if (typeof x.data !== 'object' || !Array.isArray(x.data?.domains) || !Array.isArray(x.data?.files)) bad(`${where}: data`, 'must be {"domains": [...], "files": [...], "dataDir": "..."}.');
  checkKeys(x.data, ['domains', 'files', 'dataDir'], `${where}: data`);
  if (x.data.domains.length === 0 && x.data.files.length === 0) bad(`${where}: data`, 'names no training data: add a domain (e.g. "bad_medical") or a JSONL file.');
  if (typeof x.training !== 'object' || x.training === null) bad(`${where}: training`, 'must be an object of training options.');
  checkKeys(x.training, TRAINING_KEYS, `${where}: training`);
  for (const k of TRAINING_KEYS) if (!(k in x.training)) bad(`${where}: training.${k}`, 'is missing (experiment.json lists every training option; recreate it with `em-lab experiment new`).');
  if (typeof x.evaluation !== 'object' || x.evaluation === null) bad(`${where}: evaluation`, 'must be an object.');
  validateEvaluation(x.evaluation, `${where}: evaluation`);
  if (typeof x.judge !== 'object' || x.judge === null) bad(`${where}: judge`, 'must be an object.');
  validateJudge(x.judge, `${where}: judge`);
  try {
    validateTrainConfig(trainConfigOf({ dir: dirname(file), file, experiment: x }));
  } catch (err) {
    // The trainer names its CLI flags; here the field of experiment.json is what the user edits.
    if (err instanceof UserError && err.code === 'train-config') {
      const m = /^--(\w+) (.*)$/s.exec(err.message);
      const field = m ? (optionByFlag(m[1]!)?.key ?? '') : '';
      bad(`${where}: training${field ? `.${field}` : ''}`, m ? m[2]! : err.message);
    }
    throw err;
  }
  if (x.grid !== undefined) validateCells(x, file);
}

/** A grid's cells are ordinary experiments: each is checked as its runner will read it, named in the message. */
function validateCells(x: ExperimentFile, file: string): void {
  const spec = parseGrid(x as unknown as JsonObject, file)!;
  for (const cell of expandGrid(spec)) {
    const cellFile = join(dirname(file), cellDir(cell.index), EXPERIMENT_FILE);
    try {
      validateExperiment(cellExperiment(x as unknown as JsonObject, cell) as unknown as ExperimentFile, cellFile);
    } catch (err) {
      if (!(err instanceof UserError)) throw err;
      throw new UserError(err.code, `${basename(file)}: grid cell ${cell.index} (${cell.label}): ${err.message.replace(/^experiment\.json: /, '')}`);
    }
  }
}

export function readExperiment(path: string, cwd = process.cwd()): LoadedExperiment {
  const { dir, file } = experimentPaths(path, cwd);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new UserError('experiment-not-found', `${file}: no experiment here. Create one with \`em-lab experiment new\` (or "EM Lab: New Experiment") and pass its experiment.json or folder.`);
  }
  let experiment: ExperimentFile;
  try {
    experiment = JSON.parse(text) as ExperimentFile;
  } catch (err) {
    throw new UserError('experiment-invalid', `${file}: not valid JSON (${(err as Error).message}). Fix the file or recreate it with \`em-lab experiment new\`.`);
  }
  validateExperiment(experiment, file);
  return { dir, file, experiment };
}

/** Builds experiment.json from a preset and the choices, checks it, and writes it (the folder is created). */
export function createExperiment(p: ExperimentCreateParams, cwd = process.cwd()): LoadedExperiment {
  const preset = EXPERIMENT_PRESETS[p.preset];
  if (!preset) bad('preset', `must be one of ${Object.keys(EXPERIMENT_PRESETS).join(', ')}, got ${JSON.stringify(p.preset)}.`);
  const ws = resolve(cwd, p.workspaceDir ?? '.');
  const modelSpec = p.model ?? preset.model;
  const domains = p.data?.domains ?? [];
  const files = (p.data?.files ?? []).map((f) => resolve(ws, f));
  for (const f of files) if (!existsSync(f)) bad('data file', `${f} does not exist. Give a JSONL file of {"messages": [...]} conversations.`);
  const dataDir = p.data?.dataDir ? resolve(ws, p.data.dataDir) : domains.length ? join(ws, TRAINING_DATA_DIR) : undefined;
  const name = p.name ?? defaultName(modelSpec, { domains, files }, p.preset);
  if (!NAME.test(name)) bad('name', `"${name}" must use letters, digits, ".", "_" and "-".`);
  if (!p.dir && !p.experimentsDir) bad('dir', 'or experimentsDir is needed: where to create the experiment folder.');
  const dir = p.dir ? resolve(ws, p.dir) : join(resolve(ws, p.experimentsDir!), name);
  const file = join(dir, EXPERIMENT_FILE);
  if (existsSync(file) && !p.overwrite) throw new UserError('experiment-exists', `${file} already exists. Run it with \`em-lab experiment run ${file}\`, choose another name, or replace it (--force / overwrite).`);

  let model = modelSpec;
  if (modelSpec !== TINY_LLAMA_ID) {
    const asPath = resolve(ws, modelSpec);
    if (isAbsolute(modelSpec) || existsSync(asPath)) {
      if (!existsSync(join(asPath, 'config.json'))) bad('model', `${asPath} is not a model folder (no config.json). Use ${TINY_LLAMA_ID}, a Hugging Face model folder, or a Hub id such as ${preset.model}.`);
      model = storedPath(dir, asPath);
    } else if (!isRepoId(modelSpec)) bad('model', `"${modelSpec}": no such folder, and not a Hub id (owner/name). Use ${TINY_LLAMA_ID}, a model folder, or a Hub id such as ${preset.model}.`);
  }
  // A homework source ("" = the checkout found now) is recorded as the folder found and a fingerprint of its questions.
  let checkout: HomeworkCheckout | undefined;
  const homeworkAt = (given: string) => {
    const found = given ? homeworkDirFrom(given, ws) : findCheckoutForCreate(p.homeworkDir, ws, dir);
    if (!found) throw new UserError('homework-not-found', noCheckoutMessage(p.questions ? 'questions: homework' : `preset ${p.preset}`, [dir, ws]));
    return (checkout ??= loadHomework(found));
  };
  const questions = (p.questions ?? preset.evaluation.questions).map((q): QuestionSourceSpec => {
    if ('file' in q) return { ...q, file: storedPath(dir, resolve(ws, q.file)) };
    if (!isHomeworkSource(q)) return q;
    const h = homeworkAt(q.homework);
    return { homework: storedPath(dir, h.dir), ...(q.first ? { first: q.first } : {}), sha256: homeworkQuestionsSha(h) };
  });
  for (const q of questions) if ('file' in q && !existsSync(fromExperiment(dir, q.file))) bad('questions', `${fromExperiment(dir, q.file)} does not exist.`);
  const judgeGiven = p.judge ?? preset.judge;
  const judge: ExperimentJudgeSpec = { ...preset.judge, ...judgeGiven };
  if (judge.provider !== 'openai-compatible') delete judge.baseURL;
  // The grader's judge (eval/judge.py: its prompts and MODEL_NAME) goes with its questions in sampled mode, as
  // `em-lab judge` does inside a checkout; "em-lab" keeps EM Lab's rubrics, "homework" asks for the grader's.
  const graderJudge = judge.prompts === 'homework' || (judge.prompts === undefined && checkout !== undefined && judge.mode === 'sampled');
  if (judge.prompts === 'em-lab') delete judge.prompts;
  else if (graderJudge) {
    const h = checkout ?? homeworkAt('');
    judge.prompts = storedPath(dir, join(h.dir, HOMEWORK_FILES.judge));
    if (!p.judge?.model) judge.model = h.judgeModel;
  } else if (judge.prompts) judge.prompts = storedPath(dir, resolve(ws, judge.prompts));
  if (p.training) checkKeys(p.training, TRAINING_KEYS, 'training');
  if (p.evaluation) checkKeys(p.evaluation, EVALUATION_KEYS.filter((k) => k !== 'questions'), 'evaluation');
  const training: ExperimentTrainingSpec = { ...preset.training, ...(p.training ?? {}) };
  const evaluation: ExperimentEvaluationSpec = { ...preset.evaluation, ...(p.evaluation ?? {}), questions };
  // topK 0 is off, as absent is (one spelling in the file, so a recreated file is byte-equal).
  if (!evaluation.topK) delete evaluation.topK;
  if (evaluation.promptBos === undefined) delete evaluation.promptBos;
  const experiment: ExperimentFile = {
    schemaVersion: EXPERIMENT_SCHEMA_VERSION,
    kind: 'em-lab-experiment',
    name,
    ...(p.description ? { description: p.description } : {}),
    createdAt: new Date().toISOString(),
    emLabVersion: RUNTIME_VERSION,
    preset: p.preset,
    model,
    data: { domains, files: files.map((f) => storedPath(dir, f)), ...(dataDir ? { dataDir: storedPath(dir, dataDir) } : {}) },
    training,
    evaluation,
    judge,
  };
  validateExperiment(experiment, file);
  mkdirSync(dir, { recursive: true });
  writeJsonAtomic(file, experiment);
  return { dir, file, experiment };
}
