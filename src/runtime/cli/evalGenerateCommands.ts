// `em-lab questions`, `em-lab generate-eval`, `em-lab sweep`: question sets, answers from a model, and answers +
// judgements for every checkpoint of a training run.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { batchOption, bool, list, num, str, type CliCommand, type ParsedArgs, type CliIO, type OptionSpec } from './command';
import { ENDPOINT_OPTIONS, HOMEWORK_OPTIONS, JUDGE_OPTIONS, QUESTION_OPTIONS, cliEnv, endpointFrom, homeworkFrom, judgeSettingsFrom, questionSetsFrom } from './evalOptions';
import { UserError } from '../errors';
import { runGeneration, planItems, type GenerationPlan } from '../eval/generationRun';
import { emLabPlan, homeworkPlan, paperPlan } from '../eval/generationPresets';
import { homeworkHint } from '../eval/homework/checkout';
import { openAIGenerator } from '../eval/generators/openaiGenerator';
import { localGenerator } from '../eval/generators/localGenerator';
import { adapterServerName, loraPathOnServer, parseLoraPathMaps } from '../eval/generators/loraAdmin';
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
  adapter: { type: 'string', description: 'local: a PEFT adapter folder (e.g. a run checkpoint) or a run folder; its base_model_name_or_path answers unless --model is given. openai: the server loads it at run time (vLLM /v1/load_lora_adapter) and unloads it after.', valueName: 'DIR' },
  'lora-path-map': { type: 'string', multiple: true, description: 'openai: LOCAL=REMOTE, where the server sees adapter folders (it reads them itself), e.g. /home/me/runs=/mnt/runs.', valueName: 'MAP' },
  n: { type: 'string', description: 'openai: most completions per request for samples of one question (the n parameter; 1 = off). Servers that ignore n are detected.', default: '8', valueName: 'N' },
  batch: { type: 'string', description: 'local: most answers decoding at once (continuous batching: a finished answer makes room for the next); auto = as many as memory allows.', default: 'auto', valueName: 'N' },
  storage: { type: 'string', description: 'local: where EM Lab keeps models. Default: $EM_LAB_STORAGE or ~/.em-lab.', valueName: 'DIR' },
};

function engineOf(args: ParsedArgs, io: CliIO): 'local' | 'openai' {
  const e = str(args, 'engine') ?? (str(args, 'base-url') || cliEnv(io).OPENAI_BASE_URL ? 'openai' : 'local');
  if (e !== 'local' && e !== 'openai') throw new UserError('bad-engine', `--engine ${e}: use local or openai.`);
  return e;
}

/** The generator for one model (and adapter / checkpoint), local or at an endpoint. */
function generatorFrom(args: ParsedArgs, io: CliIO, checkpoint?: SweepCheckpoint & { model?: string; loadAdapter?: boolean }): Generator {
  if (engineOf(args, io) === 'openai') {
    // An adapter the server loads at run time: --adapter with generate-eval, each checkpoint in a sweep without --model-template.
    const adapterArg = str(args, 'adapter');
    const adapter = checkpoint ? (checkpoint.loadAdapter ? checkpoint.path : undefined) : adapterArg !== undefined ? resolve(io.cwd, adapterArg) : undefined;
    const maps = parseLoraPathMaps(list(args, 'lora-path-map') ?? [], io.cwd);
    return openAIGenerator({
      model: checkpoint?.model ?? requireModel(args),
      endpoint: endpointFrom(args),
      env: cliEnv(io),
      concurrency: num(args, 'concurrency', 8),
      n: num(args, 'n', 8, { integer: true, min: 1 })!,
      ...(adapter ? { lora: { name: adapterServerName(adapter), serverPath: loraPathOnServer(adapter, maps), localPath: adapter } } : {}),
      ...(checkpoint ? { checkpoint: checkpoint.label, step: checkpoint.step } : {}),
      onLora: (e, a) => io.err(`${a.name}: ${e === 'was-loaded' ? 'already registered at the endpoint (reused)' : e === 'was-not-loaded' ? 'already gone from the endpoint' : e} (${a.serverPath})`),
    });
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
    for (const w of r.warnings) io.err(`warning: ${w}`);
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
    'plus each checkpoint as the adapter. With --base-url, an OpenAI-compatible server answers: by default it loads each',
    'checkpoint at run time as an adapter on --model (vLLM --enable-lora with VLLM_ALLOW_RUNTIME_LORA_UPDATING=True, or',
    'em-lab serve) and unloads it when its answers are in; with --model-template it answers as that name, {step} /',
    '{label} filled in (adapters you served yourself with --lora-modules).',
    'Examples:',
    '  em-lab sweep em-lab-runs/medical --model ./Llama-3.2-1B-Instruct --preset homework --include-base',
    '  em-lab sweep runs/medical --model meta-llama/Llama-3.2-1B-Instruct --base-url http://127.0.0.1:8000/v1 --include-base',
    '  em-lab sweep runs/medical --model-template "medical-step-{step}" --base-url http://127.0.0.1:8000/v1 --include-base --base-model llama-3.2-1b',
  ].join('\n'),
  positionals: [{ name: 'RUN', description: 'Training run folder.', required: true }],
  options: {
    ...QUESTION_OPTIONS,
    ...SAMPLING_OPTIONS,
    'model-template': { type: 'string', description: 'Model name per checkpoint, with {step} / {label}.', valueName: 'TEMPLATE' },
    'include-base': { type: 'boolean', description: 'Also evaluate the base model (no adapter) as step 0.' },
    'judge-batch': { type: 'boolean', description: 'Judge through OpenAI batches (half price, within 24 h); run the same sweep again later to merge them and write the summary.' },
    'base-model': { type: 'string', description: 'openai: the base model\'s name at the endpoint (default: --model).', valueName: 'NAME' },
    out: { type: 'string', description: 'Sweep folder. Default: RUN/sweep.', valueName: 'DIR' },
    ...HOMEWORK_OPTIONS,
    ...JUDGE_OPTIONS,
    ...ENDPOINT_OPTIONS,
  },
  async run(args, io) {
    const runDir = resolve(io.cwd, args.positionals[0]!);
    const template = str(args, 'model-template');
    const endpoint = engineOf(args, io) === 'openai';
    if (endpoint && !template && !str(args, 'model')) throw new UserError('missing-model', 'With an endpoint, pass --model NAME (the base model the server loads each checkpoint onto), or --model-template "NAME-{step}" for adapters it already serves (or drop --base-url to use EM Lab\'s engine).');
    const checkpoints: SweepCheckpoint[] = await listCheckpoints(runDir);
    const baseModel = str(args, 'base-model') ?? str(args, 'model');
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
      judge: { ...settings, env, ...(bool(args, 'judge-batch') ? { batch: true } : {}) },
      signal: io.signal,
      onProgress: (m, f) => io.progress(m, f),
      generatorFor: (cp) =>
        generatorFrom(args, io, {
          ...cp,
          ...(endpoint ? (template && cp.path ? { model: template.replace(/\{step\}/g, String(cp.step)).replace(/\{label\}/g, cp.label) } : { model: baseModel!, loadAdapter: !!cp.path }) : cp.path ? {} : { model: runBaseModel(runDir) }),
        }),
    });
    if (r.waiting.length) {
      for (const w of r.waiting) io.out(`${w.label}: ${w.pending} judgements wait for batch ${w.batches.join(', ')}.`);
      io.out(`Judge batches are running (OpenAI answers within 24 h). Run the same em-lab sweep command again to merge them and write the sweep summary.`);
      io.event({ event: 'sweep', outDir, waiting: r.waiting, failed: r.failed });
      return r.failed ? 1 : 0;
    }
    io.out(formatSummaryCsv(buildReport(r.judged, PRESETS.homework, { by: 'step' })).trimEnd());
    io.out(`\nWrote ${outDir}/sweep_judged.csv, sweep_summary.csv and summary.json (open them with "EM Lab: Open Judge Results").`);
    for (const w of r.warnings) io.err(`warning: ${w}`);
    io.event({ event: 'sweep', outDir, rows: r.rows, failed: r.failed });
    return r.failed ? 1 : 0;
  },
};
