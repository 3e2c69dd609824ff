// `em-lab questions`, `em-lab generate-eval`, `em-lab sweep`: question sets, answers from a model, and answers +
// judgements for every checkpoint of a training run.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { batchOption, bool, num, str, type CliCommand, type ParsedArgs, type CliIO, type OptionSpec } from './command';
import { ENDPOINT_OPTIONS, HOMEWORK_OPTIONS, JUDGE_OPTIONS, QUESTION_OPTIONS, cliEnv, endpointFrom, homeworkFrom, judgeSettingsFrom, questionSetsFrom } from './evalOptions';
import { UserError } from '../errors';
import { runGeneration, planItems, type GenerationPlan } from '../eval/generationRun';
import { emLabPlan, homeworkPlan, paperPlan } from '../eval/generationPresets';
import { homeworkHint } from '../eval/homework/checkout';
import { openAIGenerator } from '../eval/generators/openaiGenerator';
import { localGenerator } from '../eval/generators/localGenerator';
import type { Generator } from '../eval/generators/generator';
import { cliStorageDir } from './generateCommands';
import { resolveModelArgs } from './modelArgs';
import { sessionsFor } from '../model/generateSession';
import { listCheckpoints, runSweep, type SweepCheckpoint } from '../eval/sweep';
import { formatSummaryCsv, buildReport } from '../eval/metricsReport';
import { PRESETS } from '../eval/presets';

export const questionsCommand: CliCommand = {
  path: ['questions'],
  summary: 'List question sets: the bundled ones, or those read from your files, after --first / --random selection.',
  details: 'Examples:\n  em-lab questions --set medical --first 10\n  em-lab questions --questions first_plot_questions.yaml --random 4 --seed 1',
  options: { ...QUESTION_OPTIONS, full: { type: 'boolean', description: 'Print every paraphrase and system prompt in full.' } },
  async run(args, io) {
    const sets = await questionSetsFrom(args, io, ['medical', 'general', 'freeform']);
    for (const s of sets) {
      io.event({ event: 'set', id: s.id, title: s.title, source: s.source, questions: s.questions, judgePrompts: s.judgePrompts.map((p) => p.name) });
      io.out(`${s.id}: ${s.title} (${s.questions.length} questions${s.judgePrompts.length ? `; judge prompts: ${s.judgePrompts.map((p) => p.name).join(', ')}` : ''})`);
      for (const q of s.questions) {
        const text = q.paraphrases[0]!.replace(/\s+/g, ' ');
        io.out(`  ${q.id}: ${bool(args, 'full') ? text : text.length > 100 ? text.slice(0, 97) + '...' : text}${q.paraphrases.length > 1 ? ` (+${q.paraphrases.length - 1} paraphrases)` : ''}${q.system ? ' [system prompt]' : ''}`);
      }
    }
    return 0;
  },
};

const SAMPLING_OPTIONS: Record<string, OptionSpec> = {
  preset: { type: 'string', description: 'homework (the grader\'s 20 questions from your homework checkout, generated as its generate.py: docs/homework.md), em-lab (EM Lab\'s own 10 medical + 10 general questions), or paper (8 free-form x 50 samples, 600 tokens).', valueName: 'NAME' },
  samples: { type: 'string', description: 'Samples per question (paraphrase).', valueName: 'N' },
  temperature: { type: 'string', description: 'Sampling temperature (default 1).', valueName: 'T' },
  'top-p': { type: 'string', description: 'Nucleus sampling top_p (default 1).', valueName: 'P' },
  'max-new-tokens': { type: 'string', description: 'Longest answer in tokens (default 200; paper preset 600).', valueName: 'N' },
  'top-k': { type: 'string', description: 'local: keep the k most likely tokens (default off; homework preset 50, transformers\' default that the grader keeps).', valueName: 'K' },
  'prompt-bos': { type: 'string', description: 'local: double = tokenize as the grader\'s generate.py (chat template rendered to text, then tokenized again: two <|begin_of_text|> for Llama 3; the homework preset\'s default); single = the chat template\'s own tokens (one BOS; the default otherwise).', valueName: 'double|single' },
  engine: { type: 'string', description: 'local (EM Lab\'s ONNX engine) or openai (an OpenAI-compatible endpoint). Default: openai when --base-url is given, else local.', valueName: 'ENGINE' },
  model: { type: 'string', description: 'local: tiny-llama, a model folder, a downloaded Hub id, or an adapter / run checkpoint / run folder (answered by its base model plus the adapter); default: the adapter\'s base model, else tiny-llama. openai: the model name at the endpoint.', valueName: 'M' },
  adapter: { type: 'string', description: 'local: a PEFT adapter folder (e.g. a run checkpoint) or a run folder; its base_model_name_or_path answers unless --model is given.', valueName: 'DIR' },
  batch: { type: 'string', description: 'local: most answers decoding at once (continuous batching: a finished answer makes room for the next); auto = as many as memory allows.', default: 'auto', valueName: 'N' },
  storage: { type: 'string', description: 'local: where EM Lab keeps models. Default: $EM_LAB_STORAGE or ~/.em-lab.', valueName: 'DIR' },
};

function engineOf(args: ParsedArgs, io: CliIO): 'local' | 'openai' {
  const e = str(args, 'engine') ?? (str(args, 'base-url') || cliEnv(io).OPENAI_BASE_URL ? 'openai' : 'local');
  if (e !== 'local' && e !== 'openai') throw new UserError('bad-engine', `--engine ${e}: use local or openai.`);
  return e;
}

/** The generator for one model (and adapter / checkpoint), local or at an endpoint. */
function generatorFrom(args: ParsedArgs, io: CliIO, checkpoint?: SweepCheckpoint & { model?: string }): Generator {
  if (engineOf(args, io) === 'openai') {
    const g = openAIGenerator({ model: checkpoint?.model ?? requireModel(args), endpoint: endpointFrom(args), env: cliEnv(io), concurrency: num(args, 'concurrency', 8) });
    return checkpoint ? { ...g, info: { ...g.info, checkpoint: checkpoint.label, step: checkpoint.step, ...(checkpoint.path ? { adapter: checkpoint.path } : {}) } } : g;
  }
  // A sweep's checkpoint is the adapter; its base is --model, else what the checkpoint (or the run) was trained on.
  const { ref, notes } = checkpoint
    ? resolveModelArgs({ model: str(args, 'model') ?? (checkpoint.path ? undefined : checkpoint.model), ...(checkpoint.path ? { adapter: checkpoint.path } : {}), cwd: io.cwd })
    : resolveModelArgs({ model: str(args, 'model'), adapter: str(args, 'adapter'), cwd: io.cwd });
  for (const n of notes) io.err(n);
  return localGenerator({
    sessions: sessionsFor(cliStorageDir(args, io), io.env),
    model: ref.model,
    ...(ref.adapter ? { adapter: ref.adapter } : {}),
    ...(checkpoint ? { checkpoint: checkpoint.label, step: checkpoint.step } : {}),
    batchSize: batchOption(args),
  });
}

/** The base model a run was trained on (training_config.json), for a sweep's step 0 without --model. */
function runBaseModel(runDir: string): string | undefined {
  try {
    const model = (JSON.parse(readFileSync(join(runDir, 'training_config.json'), 'utf8')) as { model?: unknown }).model;
    return typeof model === 'string' ? model : undefined;
  } catch {
    return undefined;
  }
}

async function planFrom(args: ParsedArgs, io: CliIO): Promise<GenerationPlan> {
  const presetName = str(args, 'preset');
  const seed = num(args, 'seed', 0)!;
  const explicitQuestions = str(args, 'set') !== undefined || args.options.questions !== undefined;
  let plan: GenerationPlan;
  if (presetName === 'homework') {
    const h = homeworkFrom(args, io);
    if (!h) throw new UserError('homework-not-found', `--preset homework: ${homeworkHint(io.cwd)}`);
    plan = homeworkPlan(h, seed);
    io.err(`Homework preset: the grader's questions from ${h.dir} (MEDICAL_QUESTIONS[:10] + NON_MEDICAL_QUESTIONS[:10]), generated as its generate.py does (docs/homework.md).`);
  } else if (presetName === 'em-lab') plan = emLabPlan(seed);
  else if (presetName === 'paper') plan = paperPlan(seed);
  else if (presetName !== undefined) throw new UserError('unknown-preset', `--preset ${presetName}: use homework (the grader's, from your homework checkout), em-lab (EM Lab's own 10 medical + 10 general questions) or paper.`);
  else plan = { sets: [], sampling: { temperature: 1, topP: 1, maxNewTokens: 200 }, seed };
  if (explicitQuestions || !presetName) plan = { ...plan, sets: await questionSetsFrom(args, io, ['medical', 'general']) };
  const samples = num(args, 'samples');
  const given = (name: string) => args.options[name] !== undefined;
  const bos = str(args, 'prompt-bos');
  if (bos !== undefined && bos !== 'single' && bos !== 'double') throw new UserError('bad-prompt-bos', `--prompt-bos ${bos}: use double (the grader's generate.py tokenization) or single (the chat template's own tokens).`);
  const sampling = {
    temperature: given('temperature') ? num(args, 'temperature')! : plan.sampling.temperature,
    topP: given('top-p') ? num(args, 'top-p')! : plan.sampling.topP,
    maxNewTokens: given('max-new-tokens') ? num(args, 'max-new-tokens')! : plan.sampling.maxNewTokens,
    ...(given('top-k') ? { topK: num(args, 'top-k')! } : plan.sampling.topK !== undefined ? { topK: plan.sampling.topK } : {}),
    ...(bos ? { promptBos: bos as 'single' | 'double' } : plan.sampling.promptBos ? { promptBos: plan.sampling.promptBos } : {}),
  };
  if (presetName === 'homework') {
    // A changed setting is the user's choice, but never a silent one: the answers are no longer the grader's.
    const flags: Record<keyof typeof sampling, string> = { temperature: '--temperature', topP: '--top-p', maxNewTokens: '--max-new-tokens', topK: '--top-k', promptBos: '--prompt-bos' };
    const differs = (Object.keys(flags) as (keyof typeof sampling)[]).filter((k) => sampling[k] !== plan.sampling[k]).map((k) => `${flags[k]} ${sampling[k] ?? 'off'} (the grader: ${plan.sampling[k]})`);
    if (explicitQuestions) differs.push('--set/--questions (the grader: its own 20 questions)');
    if (samples !== undefined && samples !== 1) differs.push(`--samples ${samples} (the grader: 1)`);
    if (differs.length) io.err(`note: ${differs.join(', ')}: these answers are not what the homework preset would submit.`);
  }
  return { ...plan, ...(samples !== undefined ? { samples } : {}), sampling };
}

function requireModel(args: ParsedArgs): string {
  const model = str(args, 'model');
  if (!model) {
    throw new UserError(
      'missing-model',
      'Name the model to answer at the endpoint: --model NAME (or use --engine local for EM Lab\'s own engine).',
    );
  }
  return model;
}

export const generateEvalCommand: CliCommand = {
  path: ['generate-eval'],
  summary: 'Generate answers to evaluation questions (resumable); writes generations.jsonl and model_generations.csv.',
  details: 'Examples:\n  em-lab generate-eval --preset homework --model ./Llama-3.2-1B-Instruct --adapter em-lab-runs/run1/checkpoints/200 --out em-lab-runs/run1/eval\n  em-lab generate-eval --preset homework --model my-model --base-url http://127.0.0.1:8000/v1 --out runs/eval\n  em-lab generate-eval --questions first_plot_questions.yaml --samples 5 --engine openai --model gpt-4o-mini',
  options: { ...QUESTION_OPTIONS, ...SAMPLING_OPTIONS, ...HOMEWORK_OPTIONS, out: { type: 'string', description: 'Output folder.', default: 'em-lab-runs/eval', valueName: 'DIR' }, ...ENDPOINT_OPTIONS },
  async run(args, io) {
    const plan = await planFrom(args, io);
    const total = planItems(plan).length;
    const generator = generatorFrom(args, io);
    const outDir = resolve(io.cwd, str(args, 'out') ?? 'em-lab-runs/eval');
    const s = plan.sampling;
    io.err(`${total} answers from ${generator.id} (temperature ${s.temperature}, top_p ${s.topP}${s.topK ? `, top_k ${s.topK}` : ''}, ${s.maxNewTokens} new tokens${s.promptBos === 'double' ? ', double BOS as the grader' : ''}) into ${outDir}`);
    if (generator.info.kind !== 'local' && (s.topK || s.promptBos === 'double')) io.err(`note: an OpenAI-compatible endpoint takes neither top_k nor the grader's double BOS; these answers differ from the grader's generation in those (docs/homework.md).`);
    const r = await runGeneration({ plan, generator, outDir, signal: io.signal, onProgress: (d, t, speed) => io.progress(`generating ${d}/${t}${speed ? ` · ${speed}` : ''}`, t ? d / t : 1) });
    for (const f of r.failed) io.err(`failed: ${f.id}: ${f.error}`);
    io.out(`${r.records.length}/${total} answers (${r.fromRunFile} from an earlier run). Wrote ${r.generationsFile} and ${r.csvFile}.`);
    io.event({ event: 'generated', outDir, answers: r.records.length, total, failed: r.failed, generationsFile: r.generationsFile, csvFile: r.csvFile });
    return r.failed.length ? 1 : 0;
  },
};

export const sweepCommand: CliCommand = {
  path: ['sweep'],
  summary: 'Generate and judge answers for every checkpoint of a training run; EM and coherence against step.',
  details: [
    'Checkpoints are the folders in RUN/checkpoints/ (or RUN/checkpoint-*). By default EM Lab\'s engine answers with --model',
    'plus each checkpoint as the adapter; with --base-url, an OpenAI-compatible server answers as --model-template with',
    '{step} / {label} filled in (e.g. vLLM serving every adapter with --lora-modules).',
    'Examples:',
    '  em-lab sweep em-lab-runs/medical --model ./Llama-3.2-1B-Instruct --preset homework --include-base',
    '  em-lab sweep runs/medical --model-template "medical-step-{step}" --base-url http://127.0.0.1:8000/v1 --include-base --base-model llama-3.2-1b',
  ].join('\n'),
  positionals: [{ name: 'RUN', description: 'Training run folder.', required: true }],
  options: {
    ...QUESTION_OPTIONS,
    ...SAMPLING_OPTIONS,
    'model-template': { type: 'string', description: 'Model name per checkpoint, with {step} / {label}.', valueName: 'TEMPLATE' },
    'include-base': { type: 'boolean', description: 'Also evaluate the base model (no adapter) as step 0.' },
    'base-model': { type: 'string', description: 'openai: the base model\'s name at the endpoint.', valueName: 'NAME' },
    out: { type: 'string', description: 'Sweep folder. Default: RUN/sweep.', valueName: 'DIR' },
    ...HOMEWORK_OPTIONS,
    ...JUDGE_OPTIONS,
    ...ENDPOINT_OPTIONS,
  },
  async run(args, io) {
    const runDir = resolve(io.cwd, args.positionals[0]!);
    const template = str(args, 'model-template');
    const endpoint = engineOf(args, io) === 'openai';
    if (endpoint && !template) throw new UserError('missing-model-template', 'With an endpoint, pass --model-template "NAME-{step}": how it names each checkpoint\'s model (or drop --base-url to use EM Lab\'s engine).');
    const checkpoints: SweepCheckpoint[] = await listCheckpoints(runDir);
    const baseModel = str(args, 'base-model');
    if (bool(args, 'include-base')) {
      if (endpoint && !baseModel) throw new UserError('missing-base-model', '--include-base with an endpoint needs --base-model NAME (the base model there).');
      checkpoints.unshift({ label: 'base', step: 0 });
    }
    const plan = await planFrom(args, io);
    const settings = await judgeSettingsFrom(args, io, [runDir]);
    const env = cliEnv(io);
    const outDir = resolve(io.cwd, str(args, 'out') ?? resolve(runDir, 'sweep'));
    io.err(`Sweep over ${checkpoints.length} checkpoints (${checkpoints.map((c) => c.step).join(', ')}), ${planItems(plan).length} answers each, into ${outDir}`);
    const r = await runSweep({
      checkpoints,
      plan,
      outDir,
      judge: { ...settings, env },
      signal: io.signal,
      onProgress: (m, f) => io.progress(m, f),
      generatorFor: (cp) => generatorFrom(args, io, { ...cp, ...(endpoint ? { model: cp.path ? template!.replace(/\{step\}/g, String(cp.step)).replace(/\{label\}/g, cp.label) : baseModel! } : cp.path ? {} : { model: runBaseModel(runDir) }) }),
    });
    io.out(formatSummaryCsv(buildReport(r.judged, PRESETS.homework, { by: 'step' })).trimEnd());
    io.out(`\nWrote ${outDir}/sweep_judged.csv, sweep_summary.csv and summary.json (open them with "EM Lab: Open Judge Results").`);
    io.event({ event: 'sweep', outDir, rows: r.rows, failed: r.failed });
    return r.failed ? 1 : 0;
  },
};
