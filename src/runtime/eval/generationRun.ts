// A generation run: every selected question x paraphrase x sample, answered by one generator. Each answer is
// appended to generations.jsonl as soon as it exists (with the model, adapter, checkpoint, sampling, seed and
// timing), so a crash or cancel keeps everything generated so far and a rerun only generates what is missing.
// At the end the homework's model_generations.csv (header exactly id,question,response) is written next to it.
import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CancelledError, UserError, errorMessage } from '../errors';
import { formatCsv } from './csv';
import { pyStrip } from './homework/python';
import { isBatchGenerator, type EvalChatMessage, type EvalSampling, type GenerationOutput, type Generator, type GeneratorInfo } from './generators/generator';
import { JsonlAppender, readJsonl } from './jsonl';
import { runPool } from './pool';
import type { QuestionSet } from './questions/questionSet';

export interface GenerationItem {
  id: string;
  setId: string;
  questionId: string;
  paraphraseIndex: number;
  sampleIndex: number;
  question: string;
  system?: string;
  seed: number;
}

export interface GenerationRecord extends GenerationItem {
  schemaVersion: 1;
  /** A uuid4 made when the answer was generated, under plans with rowIds 'uuid4' (the homework's CSV id). */
  rowId?: string;
  /** The answer, stripped of surrounding whitespace as the grader's query_utils.py does (Python str.strip). */
  response: string;
  finishReason?: string;
  generatorId: string;
  generator: GeneratorInfo;
  sampling: EvalSampling;
  startedAt: string;
  ms: number;
  promptTokens?: number;
  completionTokens?: number;
  /** Set when a server sampled this answer as choice `choice` of one request for `n` (seeded `seed`). */
  request?: { seed: number; n: number; choice: number };
}

export interface GenerationPlan {
  sets: QuestionSet[];
  /** Samples per paraphrase; undefined uses the set's or question's own setting, else 1. */
  samples?: number;
  sampling: EvalSampling;
  /** Base seed; answer i gets seed + i, so each answer is reproducible on its own. */
  seed: number;
  /** Refuse plans with more answers than this (the homework preset: the 20 rows the grader judges). */
  maxAnswers?: number;
  /** 'uuid4': every answer also gets a random uuid4, the id model_generations.csv shows (the grader's generate.py). */
  rowIds?: 'uuid4';
}

/** The answers a plan asks for, in a stable order with stable ids (so a rerun can match what is done). */
export function planItems(plan: GenerationPlan): GenerationItem[] {
  const items: GenerationItem[] = [];
  const allIds = plan.sets.flatMap((s) => s.questions.map((q) => q.id));
  const clash = new Set(allIds.filter((id, i) => allIds.indexOf(id) !== i));
  for (const set of plan.sets) {
    for (const q of set.questions) {
      const samples = plan.samples ?? q.samplesPerParaphrase ?? set.samplesPerQuestion ?? 1;
      const baseId = clash.has(q.id) ? `${set.id}.${q.id}` : q.id;
      q.paraphrases.forEach((text, p) => {
        for (let s = 0; s < samples; s++) {
          const id = baseId + (q.paraphrases.length > 1 ? `_p${p}` : '') + (samples > 1 ? `_s${s}` : '');
          items.push({ id, setId: set.id, questionId: q.id, paraphraseIndex: p, sampleIndex: s, question: text, ...(q.system ? { system: q.system } : {}), seed: plan.seed + items.length });
        }
      });
    }
  }
  if (plan.maxAnswers !== undefined && items.length > plan.maxAnswers) {
    throw new UserError('too-many-answers', `This plan asks for ${items.length} answers but at most ${plan.maxAnswers} are allowed (the grader judges the first ${plan.maxAnswers} rows of model_generations.csv). Select fewer questions (--first N) or samples (--samples 1).`);
  }
  return items;
}

export interface GenerationRunOptions {
  plan: GenerationPlan;
  generator: Generator;
  outDir: string;
  signal?: AbortSignal;
  /** `speed`: the batching engine's throughput ("41.3 answers/min · 138 tokens/s · batch 48"), when it has one. */
  onProgress?: (done: number, total: number, speed?: string) => void;
}

export interface GenerationRunResult {
  records: GenerationRecord[];
  generated: number;
  fromRunFile: number;
  failed: { id: string; error: string }[];
  /** Things that went wrong without losing an answer (e.g. an adapter the server could not unload). */
  warnings: string[];
  generationsFile: string;
  csvFile: string;
}

function messagesOf(it: GenerationItem): EvalChatMessage[] {
  return [...(it.system ? [{ role: 'system' as const, content: it.system }] : []), { role: 'user' as const, content: it.question }];
}

export async function runGeneration(o: GenerationRunOptions): Promise<GenerationRunResult> {
  const items = planItems(o.plan);
  const file = join(o.outDir, 'generations.jsonl');
  const existing = await readJsonl<GenerationRecord>(file);
  const other = existing.find((r) => r.generatorId && r.generatorId !== o.generator.id);
  if (other) {
    throw new UserError('generations-other-model', `${file} already holds answers from ${other.generatorId}, not ${o.generator.id}. Use another output folder (--out) so results from different models are not mixed.`);
  }
  const done = new Map(existing.map((r) => [r.id, r]));
  const pending = items.filter((it) => !done.has(it.id));
  const appender = await JsonlAppender.open(file);
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  const onAbort = () => controller.abort();
  o.signal?.addEventListener('abort', onAbort);
  if (o.signal?.aborted) controller.abort();
  const failed: GenerationRunResult['failed'] = [];
  let completed = items.length - pending.length;
  o.onProgress?.(completed, items.length);
  let opened = false;
  const warnings: string[] = [];
  try {
    if (pending.length && o.generator.open) {
      await o.generator.open(controller.signal);
      opened = true;
    }
    const batchGen = isBatchGenerator(o.generator) ? o.generator : undefined;
    const record = async (it: GenerationItem, out: GenerationOutput, startedAt: Date, ms: number) => {
      if (out.finishReason === 'cancelled') return; // cut short: not an answer; a rerun makes it whole
      if (out.error !== undefined) {
        failed.push({ id: it.id, error: out.error }); // this answer alone (e.g. one request of a server batch)
        return;
      }
      const r: GenerationRecord = {
        schemaVersion: 1,
        ...it,
        ...(o.plan.rowIds === 'uuid4' ? { rowId: randomUUID() } : {}),
        response: pyStrip(out.text),
        ...(out.finishReason ? { finishReason: out.finishReason } : {}),
        generatorId: o.generator.id,
        generator: o.generator.info,
        sampling: o.plan.sampling,
        startedAt: startedAt.toISOString(),
        ms: Math.round(ms),
        ...(out.promptTokens !== undefined ? { promptTokens: out.promptTokens } : {}),
        ...(out.completionTokens !== undefined ? { completionTokens: out.completionTokens } : {}),
        ...(out.request ? { request: out.request } : {}),
      };
      await appender.append(r);
      done.set(it.id, r);
      o.onProgress?.(++completed, items.length, speed);
    };
    let speed: string | undefined;
    if (batchGen && pending.length) {
      // the batching engine takes every pending answer at once (continuous batching); each one is appended as soon
      // as it finishes, so a crash or cancel keeps everything generated so far
      const startedAt = new Date();
      let writes = Promise.resolve();
      const t0 = Date.now();
      try {
        await batchGen.generateBatch(pending.map((it) => ({ messages: messagesOf(it), seed: it.seed })), o.plan.sampling, controller.signal, {
          answer: (i, out) => {
            writes = writes.then(() => record(pending[i]!, out, startedAt, Date.now() - t0));
          },
          speed: (s) => {
            speed = `${s.answersPerMinute.toFixed(1)} answers/min · ${s.tokensPerSecond.toFixed(1)} tokens/s · batch ${s.active}`;
          },
        });
      } catch (err) {
        const reported = new Set(failed.map((f) => f.id));
        if (!(err instanceof CancelledError || controller.signal.aborted)) for (const it of pending) if (!done.has(it.id) && !reported.has(it.id)) failed.push({ id: it.id, error: errorMessage(err) });
      }
      await writes;
    } else {
      await runPool(
        pending,
        o.generator.concurrency,
        async (it) => {
          const startedAt = new Date();
          try {
            const out = await o.generator.generate(messagesOf(it), o.plan.sampling, it.seed, controller.signal);
            await record(it, out, startedAt, Date.now() - startedAt.getTime());
          } catch (err) {
            if (err instanceof CancelledError || controller.signal.aborted) return;
            failed.push({ id: it.id, error: errorMessage(err) });
          }
        },
        controller.signal,
      );
    }
  } finally {
    o.signal?.removeEventListener('abort', onAbort);
    await appender.close();
    if (opened) {
      // Answers are already on disk; a server that cannot unload the adapter now is worth a warning, not a failure.
      await o.generator.close?.().catch((err: unknown) => warnings.push(`${o.generator.id}: could not release it at the endpoint: ${errorMessage(err)}`));
    }
  }
  if (o.signal?.aborted) throw new CancelledError(`Generation cancelled; ${completed} of ${items.length} answers are saved in ${file}. Run the same command again to continue.`);
  const records = items.map((it) => done.get(it.id)).filter((r): r is GenerationRecord => r !== undefined);
  const csvFile = join(o.outDir, 'model_generations.csv');
  await writeFile(csvFile, formatModelGenerationsCsv(records));
  return { records, generated: items.length - (items.length - pending.length) - failed.length, fromRunFile: items.length - pending.length, failed, warnings, generationsFile: file, csvFile };
}

/** The homework's submission file: header exactly `id,question,response`, RFC 4180 quoting; the uuid4 id where there is one. */
export function formatModelGenerationsCsv(records: readonly { id: string; rowId?: string; question: string; response: string }[]): string {
  return formatCsv(['id', 'question', 'response'], records.map((r) => ({ id: r.rowId ?? r.id, question: r.question, response: r.response })));
}
