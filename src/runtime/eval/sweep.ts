// Checkpoint sweep: generate and judge answers for every checkpoint of a training run (and the base model), then
// chart EM and coherence against step. Each checkpoint gets its own resumable folder (step-<N>/ with
// generations.jsonl, judgements.jsonl, judged.csv, summary.json); the sweep folder gets sweep_judged.csv (all
// answers with a step column), sweep_summary.csv (the homework's step_summary layout) and summary.json.
import { readdir, writeFile, mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors';
import { runGeneration, type GenerationPlan } from './generationRun';
import type { Generator } from './generators/generator';
import type { JudgedAnswer } from './judgedAnswer';
import { formatJudgedCsv } from './judgedCsv';
import type { JudgeSettings } from './judge/judgeRun';
import { judgeAnswers } from './judge/judgeAnswers';
import type { EndpointEnv } from './endpoint/openaiEndpoint';
import { buildReport, formatSummaryCsv, groupRowsJson } from './metricsReport';
import { PRESETS } from './presets';

export interface SweepCheckpoint {
  /** e.g. 'base', 'checkpoint-93'. */
  label: string;
  /** Training step; 0 for the base model. */
  step: number;
  /** Adapter folder; undefined for the base model. */
  path?: string;
}

/**
 * Checkpoints of a run directory (docs/run-directory.md): `<run>/checkpoints/step-<N>/` (also `<N>/`, or
 * `checkpoint-<N>/` in the run itself as Hugging Face's Trainer writes them) that hold a PEFT adapter, in step
 * order. Half-written ones (`step-N.tmp-<pid>/`, no adapter_config.json) are skipped.
 */
export async function listCheckpoints(runDir: string): Promise<SweepCheckpoint[]> {
  const found: SweepCheckpoint[] = [];
  for (const dir of [join(runDir, 'checkpoints'), runDir]) {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      if (dir === runDir && !/^checkpoint/.test(e.name)) continue;
      const m = /^(?:step|checkpoint)?[-_]?(\d+)$/.exec(e.name);
      if (m && existsSync(join(dir, e.name, 'adapter_config.json'))) found.push({ label: e.name, step: Number(m[1]), path: join(dir, e.name) });
    }
    if (found.length) break;
  }
  if (!found.length) throw new UserError('no-checkpoints', `No checkpoints in ${runDir}: expected adapter folders like checkpoints/step-93/ (with adapter_config.json). Train with checkpoints enabled (em-lab train saves some in the first epoch by default), or point at the run folder.`);
  return found.sort((a, b) => a.step - b.step);
}

export interface SweepOptions {
  checkpoints: SweepCheckpoint[];
  generatorFor(checkpoint: SweepCheckpoint): Generator;
  plan: GenerationPlan;
  /**
   * Undefined: generate only (no judge chosen, or none available yet); a later run with a judge judges what is there.
   * batch: judge through OpenAI batches (submitted now, merged by a later run of the same sweep).
   */
  judge?: JudgeSettings & { cacheDir?: string; env: EndpointEnv; batch?: boolean };
  outDir: string;
  signal?: AbortSignal;
  onProgress?: (message: string, fraction: number) => void;
}

export interface SweepResult {
  /** Empty when the sweep ran without a judge. */
  judged: JudgedAnswer[];
  /** Answers on disk per checkpoint label (this run's and earlier ones). */
  generated: Record<string, number>;
  /** Answers this run generated. */
  newAnswers: number;
  /** Judge usage over this run's requests. */
  usage: { requested: number; promptTokens: number; completionTokens: number; costUsd: number | null };
  rows: Record<string, unknown>[];
  summaryCsv: string;
  failed: number;
  /** The first failure's message, when there was one. */
  firstError?: string;
  warnings: string[];
  /** Checkpoints whose judgements wait for running batches: the sweep files are written once there are none. */
  waiting: { label: string; step: number; batches: string[]; pending: number }[];
}

export async function runSweep(o: SweepOptions): Promise<SweepResult> {
  const all: JudgedAnswer[] = [];
  const generated: Record<string, number> = {};
  const usage: SweepResult['usage'] = { requested: 0, promptTokens: 0, completionTokens: 0, costUsd: null };
  let failed = 0;
  let newAnswers = 0;
  let firstError: string | undefined;
  const warnings: string[] = [];
  const waiting: SweepResult['waiting'] = [];
  for (const [i, cp] of o.checkpoints.entries()) {
    const dir = join(o.outDir, cp.step === 0 && !cp.path ? 'base' : `step-${cp.step}`);
    await mkdir(dir, { recursive: true });
    const base = i / o.checkpoints.length;
    const span = 1 / o.checkpoints.length;
    const gen = await runGeneration({ plan: o.plan, generator: o.generatorFor(cp), outDir: dir, signal: o.signal, onProgress: (d, t, speed) => o.onProgress?.(`${cp.label}: generating ${d}/${t}${speed ? ` · ${speed}` : ''}`, base + (span * d) / t / 2) });
    failed += gen.failed.length;
    warnings.push(...gen.warnings);
    firstError ??= gen.failed[0] && `${cp.label} ${gen.failed[0].id}: ${gen.failed[0].error}`;
    generated[cp.label] = gen.records.length;
    newAnswers += gen.generated;
    if (!o.judge) continue;
    const { batch, ...judge } = o.judge;
    const j = await judgeAnswers({
      ...judge,
      ...(batch ? { batch: 'submit' as const } : {}),
      answers: gen.records.map((r) => ({ id: r.id, question: r.question, response: r.response, extra: { step: String(cp.step), checkpoint: cp.label } })),
      outDir: dir,
      signal: o.signal,
      onProgress: (d, t) => o.onProgress?.(`${cp.label}: judging ${d}/${t}`, base + span / 2 + (span * d) / t / 2),
    });
    const judged = j.result;
    failed += judged.failed.length;
    firstError ??= judged.failed[0] && `${cp.label} ${judged.failed[0].answerId} ${judged.failed[0].metric}: ${judged.failed[0].error}`;
    usage.requested += judged.requested;
    usage.promptTokens += judged.usage.promptTokens;
    usage.completionTokens += judged.usage.completionTokens;
    if (judged.costUsd !== null) usage.costUsd = (usage.costUsd ?? 0) + judged.costUsd;
    if (!j.complete) {
      waiting.push({ label: cp.label, step: cp.step, batches: j.running.map((b) => b.id ?? `#${b.seq}`), pending: judged.pending });
      continue;
    }
    all.push(...judged.judged.map((a) => ({ ...a, id: `step${cp.step}_${a.id}` })));
  }
  const common = { generated, newAnswers, usage, failed, warnings, waiting, ...(firstError ? { firstError } : {}) };
  if (!o.judge) {
    o.onProgress?.('sweep generated (not judged)', 1);
    return { judged: [], rows: [], summaryCsv: '', ...common };
  }
  if (waiting.length) {
    o.onProgress?.(`waiting for judge batches of ${waiting.map((w) => w.label).join(', ')}`, 1);
    return { judged: all, rows: [], summaryCsv: '', ...common };
  }
  const report = buildReport(all, PRESETS.homework, { by: 'step' });
  const summaryCsv = formatSummaryCsv(report);
  await writeFile(join(o.outDir, 'sweep_judged.csv'), formatJudgedCsv(all, ['step', 'checkpoint']));
  await writeFile(join(o.outDir, 'sweep_summary.csv'), summaryCsv);
  const byPreset = Object.fromEntries(Object.values(PRESETS).map((p) => [p.id, groupRowsJson(buildReport(all, p, { by: 'step' }))]));
  await writeFile(join(o.outDir, 'summary.json'), JSON.stringify({ schemaVersion: 1, createdAt: new Date().toISOString(), checkpoints: o.checkpoints, failedTasks: failed, byPreset }, null, 2) + '\n');
  o.onProgress?.('sweep done', 1);
  return { judged: all, rows: groupRowsJson(report), summaryCsv, ...common };
}
