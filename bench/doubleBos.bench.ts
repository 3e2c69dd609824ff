// The grader's double BOS, measured (docs/homework.md). The homework's generate.py renders the chat template to
// text and tokenizes that text again with the tokenizer's defaults, so a Llama 3 prompt starts with two
// <|begin_of_text|> tokens; EM Lab's own path tokenizes the template directly (one). This bench asks the same
// questions both ways on tiny-llama (random weights: the only model available offline) and prints how far apart
// the two prompts put the model:
//   - prompt tokens, and whether the double prompt is exactly [BOS] + the single one;
//   - the next-token distribution after the prompt: KL(single || double) in nats, total variation, top-1 agreement;
//   - greedy answers (32 tokens): identical share, mean common prefix in tokens;
//   - sampled answers with the same seed (temperature 1, top_p 1, top_k 50: the homework's): identical share;
//   - the single-BOS greedy answer's mean log-probability per token under each prompt.
// Questions: the grader's 20 from ../shared/reference/hw0-homework/repo when present, else EM Lab's own 20.
//   npm run bench doubleBos            (EMLAB_BENCH_TOKENS=N changes the 32 answer tokens)
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadHomework, graderQuestions } from '../src/runtime/eval/homework/checkout';
import { emLabPlan } from '../src/runtime/eval/generationPresets';
import { generateChats } from '../src/runtime/model/generateChat';
import { ModelSessions } from '../src/runtime/model/generateSession';
import { logSoftmax } from '../src/runtime/model/logprobs';
import type { ChatMessage } from '../src/protocol/chatMethods';

const TOKENS = Number(process.env.EMLAB_BENCH_TOKENS ?? 32);
const HW = join(__dirname, '..', '..', 'shared', 'reference', 'hw0-homework', 'repo');

function stats(xs: number[]): string {
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  return `mean ${mean.toPrecision(3)}, min ${Math.min(...xs).toPrecision(3)}, max ${Math.max(...xs).toPrecision(3)}`;
}

async function main(): Promise<void> {
  const fromHomework = existsSync(HW);
  const questions = fromHomework ? graderQuestions(loadHomework(HW)) : emLabPlan().sets.flatMap((s) => s.questions.map((q) => q.paraphrases[0]!));
  const storage = mkdtempSync(join(tmpdir(), 'emlab-bench-bos-'));
  const sessions = new ModelSessions({ storageDir: storage });
  try {
    const loaded = await sessions.load({ model: 'tiny-llama' });
    const tok = loaded.base.tokenizer;
    const model = ModelSessions.stepModel(loaded);
    const chats: ChatMessage[][] = questions.map((q) => [{ role: 'user', content: q }]);
    const kl: number[] = [];
    const tv: number[] = [];
    let top1 = 0;
    let prefixed = 0;
    let extra = 0;
    const bos = tok.encodeText('', true)[0];
    for (const c of chats) {
      const single = tok.encodeChat(c);
      const double = tok.encodeText(tok.renderChat(c), true);
      extra += double.length - single.length;
      if (double[0] === bos && double.length === single.length + 1 && double.slice(1).every((t, i) => t === single[i])) prefixed++;
      const V = model.vocabSize;
      const last = async (ids: number[]) => logSoftmax((await model.allLogits(ids)).subarray((ids.length - 1) * V, ids.length * V));
      const [p, q] = [await last(single), await last(double)];
      let k = 0;
      let d = 0;
      let a1 = 0;
      let a2 = 0;
      for (let i = 0; i < V; i++) {
        const pi = Math.exp(p[i]!);
        k += pi * (p[i]! - q[i]!);
        d += Math.abs(pi - Math.exp(q[i]!));
        if (p[i]! > p[a1]!) a1 = i;
        if (q[i]! > q[a2]!) a2 = i;
      }
      kl.push(k);
      tv.push(d / 2);
      if (a1 === a2) top1++;
    }
    const run = async (promptBos: 'single' | 'double', sampling: { temperature: number; topK?: number }) =>
      (await generateChats(sessions, { model: 'tiny-llama' }, chats, { sampling: { ...sampling, topP: 1, maxNewTokens: TOKENS, seed: 1234 }, promptBos, batchSize: 4 })).answers;
    const [g1, g2] = [await run('single', { temperature: 0 }), await run('double', { temperature: 0 })];
    const [s1, s2] = [await run('single', { temperature: 1, topK: 50 }), await run('double', { temperature: 1, topK: 50 })];
    const prefix = (a: number[], b: number[]) => {
      let i = 0;
      while (i < a.length && i < b.length && a[i] === b[i]) i++;
      return i;
    };
    const greedySame = g1.filter((a, i) => a.tokenIds.join() === g2[i]!.tokenIds.join()).length;
    const sampledSame = s1.filter((a, i) => a.tokenIds.join() === s2[i]!.tokenIds.join()).length;
    // Mean log-probability per token of the single-BOS greedy answer, after each prompt.
    const answerLp = async (promptIds: number[], answer: number[]) => {
      const ids = [...promptIds, ...answer];
      const V = model.vocabSize;
      const logits = await model.allLogits(ids);
      let s = 0;
      for (let t = promptIds.length; t < ids.length; t++) s += logSoftmax(logits.subarray((t - 1) * V, t * V))[ids[t]!]!;
      return s / answer.length;
    };
    const lpSingle: number[] = [];
    const lpDouble: number[] = [];
    for (const [i, c] of chats.entries()) {
      if (!g1[i]!.tokenIds.length) continue;
      lpSingle.push(await answerLp(tok.encodeChat(c), g1[i]!.tokenIds));
      lpDouble.push(await answerLp(tok.encodeText(tok.renderChat(c), true), g1[i]!.tokenIds));
    }
    const n = chats.length;
    const rows: [string, string][] = [
      ['questions', `${n} (${fromHomework ? "the grader's, from the homework checkout" : "EM Lab's own (no homework checkout in ../shared)"})`],
      ['extra prompt tokens (double - single)', `${extra / n} per prompt; double = [<|begin_of_text|>] + single for ${prefixed}/${n}`],
      ['next token after the prompt: KL(single || double)', `${stats(kl)} nats`],
      ['next token after the prompt: total variation', stats(tv)],
      ['next token after the prompt: same top-1', `${top1}/${n}`],
      [`greedy answers (${TOKENS} tokens) identical`, `${greedySame}/${n}; common prefix ${stats(g1.map((a, i) => prefix(a.tokenIds, g2[i]!.tokenIds)))} tokens`],
      [`sampled answers (T 1, top_p 1, top_k 50, same seeds) identical`, `${sampledSame}/${n}; common prefix ${stats(s1.map((a, i) => prefix(a.tokenIds, s2[i]!.tokenIds)))} tokens`],
      ['single-BOS greedy answer, mean logprob/token after the single prompt', stats(lpSingle)],
      ['... after the double prompt', stats(lpDouble)],
    ];
    const w = Math.max(...rows.map((r) => r[0].length));
    console.log(`double BOS on tiny-llama (random weights), load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
    for (const [k, v] of rows) console.log(`${k.padEnd(w)}  ${v}`);
  } finally {
    await sessions.dispose();
    rmSync(storage, { recursive: true, force: true });
  }
}

void main().catch((err) => {
  console.error(err);
  process.exit(1);
});
