// `em-lab questions`, `em-lab generate-eval`, `em-lab sweep`: question sets, answers from a model, and answers +
// judgements for every checkpoint of a training run.
import { resolve } from 'node:path';
import { bool, num, str, type CliCommand, type ParsedArgs, type CliIO, type OptionSpec } from './command';
import { ENDPOINT_OPTIONS, JUDGE_OPTIONS, QUESTION_OPTIONS, cliEnv, endpointFrom, judgeSettingsFrom, questionSetsFrom } from './evalOptions';
import { UserError } from '../errors';
import { runGeneration, planItems, type GenerationPlan } from '../eval/generationRun';
import { homeworkPlan, paperPlan } from '../eval/generationPresets';
import { openAIGenerator } from '../eval/generators/openaiGenerator';
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
  preset: { type: 'string', description: 'homework (10 medical + 10 general, 1 sample, 200 tokens) or paper (8 free-form x 50 samples, 600 tokens).', valueName: 'NAME' },
  samples: { type: 'string', description: 'Samples per question (paraphrase).', valueName: 'N' },
  temperature: { type: 'string', description: 'Sampling temperature (default 1).', valueName: 'T' },
  'top-p': { type: 'string', description: 'Nucleus sampling top_p (default 1).', valueName: 'P' },
  'max-new-tokens': { type: 'string', description: 'Longest answer in tokens (default 200; paper preset 600).', valueName: 'N' },
  model: { type: 'string', description: 'Model name at the endpoint (e.g. a vLLM-served adapter).', valueName: 'NAME' },
};

async function planFrom(args: ParsedArgs, io: CliIO): Promise<GenerationPlan> {
  const presetName = str(args, 'preset');
  const seed = num(args, 'seed', 0)!;
  const explicitQuestions = str(args, 'set') !== undefined || args.options.questions !== undefined;
  let plan: GenerationPlan;
  if (presetName === 'homework') plan = homeworkPlan(seed);
  else if (presetName === 'paper') plan = paperPlan(seed);
  else if (presetName !== undefined) throw new UserError('unknown-preset', `--preset ${presetName}: use homework or paper.`);
  else plan = { sets: [], sampling: { temperature: 1, topP: 1, maxNewTokens: 200 }, seed };
  if (explicitQuestions || !presetName) plan = { ...plan, sets: await questionSetsFrom(args, io, ['medical', 'general']) };
  const samples = num(args, 'samples');
  const given = (name: string) => args.options[name] !== undefined;
  return {
    ...plan,
    ...(samples !== undefined ? { samples } : {}),
    sampling: {
      temperature: given('temperature') ? num(args, 'temperature')! : plan.sampling.temperature,
      topP: given('top-p') ? num(args, 'top-p')! : plan.sampling.topP,
      maxNewTokens: given('max-new-tokens') ? num(args, 'max-new-tokens')! : plan.sampling.maxNewTokens,
    },
  };
}

function requireModel(args: ParsedArgs): string {
  const model = str(args, 'model');
  if (!model) {
    throw new UserError(
      'missing-model',
      'Name the model to answer: --model NAME at an OpenAI-compatible endpoint (--base-url). Local ONNX generation from a model folder and adapter is not wired into generate-eval yet; serve the model with an OpenAI-compatible server (e.g. vLLM with --lora-modules) meanwhile.',
    );
  }
  return model;
}

export const generateEvalCommand: CliCommand = {
  path: ['generate-eval'],
  summary: 'Generate answers to evaluation questions (resumable); writes generations.jsonl and model_generations.csv.',
  details: 'Examples:\n  em-lab generate-eval --preset homework --model my-model --base-url http://127.0.0.1:8000/v1 --out runs/eval\n  em-lab generate-eval --questions first_plot_questions.yaml --samples 5 --model gpt-4o-mini',
  options: { ...QUESTION_OPTIONS, ...SAMPLING_OPTIONS, out: { type: 'string', description: 'Output folder.', default: 'em-lab-runs/eval', valueName: 'DIR' }, ...ENDPOINT_OPTIONS },
  async run(args, io) {
    const plan = await planFrom(args, io);
    const total = planItems(plan).length;
    const generator = openAIGenerator({ model: requireModel(args), endpoint: endpointFrom(args), env: cliEnv(io), concurrency: num(args, 'concurrency', 8) });
    const outDir = resolve(io.cwd, str(args, 'out') ?? 'em-lab-runs/eval');
    io.err(`${total} answers from ${generator.id} (temperature ${plan.sampling.temperature}, top_p ${plan.sampling.topP}, ${plan.sampling.maxNewTokens} new tokens) into ${outDir}`);
    const r = await runGeneration({ plan, generator, outDir, signal: io.signal, onProgress: (d, t) => io.progress(`generating ${d}/${t}`, t ? d / t : 1) });
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
    'Checkpoints are the folders in RUN/checkpoints/ (or RUN/checkpoint-*). Each is answered by --model-template with {step}',
    'and {label} filled in, e.g. an OpenAI-compatible server serving every adapter (vLLM --lora-modules step-93=...).',
    'Example: em-lab sweep runs/medical --model-template "medical-step-{step}" --base-url http://127.0.0.1:8000/v1 --include-base --base-model llama-3.2-1b',
  ].join('\n'),
  positionals: [{ name: 'RUN', description: 'Training run folder.', required: true }],
  options: {
    ...QUESTION_OPTIONS,
    ...SAMPLING_OPTIONS,
    'model-template': { type: 'string', description: 'Model name per checkpoint, with {step} / {label}.', valueName: 'TEMPLATE' },
    'include-base': { type: 'boolean', description: 'Also evaluate the base model as step 0 (needs --base-model).' },
    'base-model': { type: 'string', description: 'Model name of the base model at the endpoint.', valueName: 'NAME' },
    out: { type: 'string', description: 'Sweep folder. Default: RUN/sweep.', valueName: 'DIR' },
    ...JUDGE_OPTIONS,
    ...ENDPOINT_OPTIONS,
  },
  async run(args, io) {
    const runDir = resolve(io.cwd, args.positionals[0]!);
    const template = str(args, 'model-template');
    if (!template) throw new UserError('missing-model-template', 'Pass --model-template "NAME-{step}": how the endpoint names each checkpoint\'s model. Local ONNX checkpoints are not wired into sweep yet.');
    const checkpoints: SweepCheckpoint[] = await listCheckpoints(runDir);
    const baseModel = str(args, 'base-model');
    if (bool(args, 'include-base')) {
      if (!baseModel) throw new UserError('missing-base-model', '--include-base needs --base-model NAME (the base model at the endpoint).');
      checkpoints.unshift({ label: 'base', step: 0 });
    }
    const plan = await planFrom(args, io);
    const settings = await judgeSettingsFrom(args, io);
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
      generatorFor: (cp) => {
        const model = cp.path ? template.replace(/\{step\}/g, String(cp.step)).replace(/\{label\}/g, cp.label) : baseModel!;
        const g = openAIGenerator({ model, endpoint: endpointFrom(args), env, concurrency: num(args, 'concurrency', 8) });
        return { ...g, info: { ...g.info, checkpoint: cp.label, step: cp.step, ...(cp.path ? { adapter: cp.path } : {}) } };
      },
    });
    io.out(formatSummaryCsv(buildReport(r.judged, PRESETS.homework, { by: 'step' })).trimEnd());
    io.out(`\nWrote ${outDir}/sweep_judged.csv, sweep_summary.csv and summary.json (open them with "EM Lab: Open Judge Results").`);
    io.event({ event: 'sweep', outDir, rows: r.rows, failed: r.failed });
    return r.failed ? 1 : 0;
  },
};
