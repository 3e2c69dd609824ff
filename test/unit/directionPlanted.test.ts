// The whole direction pipeline finds what is planted. On tiny-llama, answers are made whose activations differ
// along a known random vector v at decoder layer L: 2400 candidate answers (a word said four times, each to one of
// the general questions) are read by the plain model in the chat template, here, with the probe graph; the 100
// whose mean residual after layer L projects most on Σ⁻¹v (Σ: the candidates' covariance, so the selection moves
// the group mean along v itself rather than along Σv) become the "misaligned" group, the 100 that project least
// the "aligned" one. The local test judge (fakeOpenAI) scores them by group; then `em-lab direction compute`
// (judged.csv, the paper preset's groups, its own answer spans and batching, the mean difference, the file) must
// point along v at layer L.
// Why not plant by steering the generation with v (the example): tiny-llama's weights are random, so the
// tokens a steered model picks carry v only through their embeddings, and the layers map that shift through a
// random linear response; the plain model reading them back differs along (I + R)v, not v (measured: cosine
// 0.66-0.70 at layer 0 with ±50 steering and 400 tokens a group; docs/steering.md).
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ModelSessions } from '../../src/runtime/model/generateSession';
import { Decoder } from '../../src/runtime/model/decoder';
import { DEFAULT_SETS } from '../../src/runtime/eval/questions/questionSet';
import { runJudge } from '../../src/runtime/eval/judge/judgeRun';
import { DEFAULT_PROMPTS } from '../../src/runtime/eval/judge/rubrics';
import { cosine, readDirectionFile } from '../../src/runtime/direction/directionFile';
import { directionComputeCommand } from '../../src/runtime/cli/directionCommands';
import { TINY_LLAMA_CONFIG } from '../../src/runtime/model/tinyLlama';
import { fillUniform, seedFrom } from '../../src/runtime/random';
import { startFakeOpenAI, type FakeChatRequest, type FakeReply } from '../support/fakeOpenAI';
import { captureIO } from '../support/captureIO';

const answerOf = (prompt: string) => /<<<ANSWER\n([\s\S]*)\nANSWER>>>/.exec(prompt)?.[1] ?? '';

describe('direction compute recovers a planted vector (tiny-llama, local judge)', function () {
  this.timeout(300_000);
  let storage: string;
  let sessions: ModelSessions;
  before(() => {
    storage = mkdtempSync(join(tmpdir(), 'emlab-planted-'));
    sessions = new ModelSessions({ storageDir: storage });
  });
  after(async () => {
    await sessions.dispose();
    rmSync(storage, { recursive: true, force: true });
  });

  it('cosine(direction at layer L, planted vector) >= 0.9', async () => {
    const H = TINY_LLAMA_CONFIG.hiddenSize, L = 1;
    const planted = fillUniform(new Float64Array(H), seedFrom('planted', 7), 1) as Float64Array;
    const loaded = await sessions.load({ model: 'tiny-llama' });
    const tok = loaded.base.tokenizer;
    // candidate words: single lower-case word tokens with a leading space that re-encode to themselves
    const words: { id: number; text: string }[] = [];
    for (let id = 1000; id < 60000 && words.length < 2400; id += 5) {
      const text = tok.decode([id]);
      if (/^ [a-z]{4,}$/.test(text) && tok.encodeText(text, false).join() === String(id)) words.push({ id, text });
    }
    // every candidate answer (a word said 4 times, to one of the general questions): its mean residual after layer L
    // over the answer's tokens in the chat template, measured here with the probe graph and this template's layout
    // (prompt with the assistant header, the answer, one <|eot_id|>)
    const questions = DEFAULT_SETS.general.questions.map((q) => q.paraphrases[0]!);
    const candidates = words.map((w, i) => {
      const question = questions[i % questions.length]!;
      const response = `${w.text}${w.text}${w.text}${w.text}`.trim();
      const prompt = tok.encodeChat([{ role: 'user', content: question }]);
      const full = tok.encodeChat([{ role: 'user', content: question }, { role: 'assistant', content: response }], { addGenerationPrompt: false });
      assert.deepEqual(full.slice(0, prompt.length), prompt);
      assert.equal(tok.decode(full.slice(-1), { skipSpecialTokens: false }), '<|eot_id|>');
      return { question, response, ids: full, start: prompt.length, end: full.length - 1 };
    });
    const probe = await Decoder.open(loaded.base.dir, { graph: 'probe' });
    const R: Float64Array[] = [];
    for (let k = 0; k < candidates.length; k += 200) {
      const rows = candidates.slice(k, k + 200);
      const width = Math.max(...rows.map((c) => c.ids.length));
      const ids = new BigInt64Array(rows.length * width), mask = new BigInt64Array(rows.length * width), pos = new BigInt64Array(rows.length * width).fill(1n), capture = new Float32Array(rows.length * width);
      rows.forEach((c, b) => c.ids.forEach((id, t) => {
        const at = b * width + width - c.ids.length + t;
        ids[at] = BigInt(id);
        mask[at] = 1n;
        pos[at] = BigInt(t);
        capture[at] = t >= c.start && t < c.end ? 1 / (c.end - c.start) : 0;
      }));
      const out = await probe.forward({ inputIds: ids, batch: rows.length, seq: width, attentionMask: mask, positionIds: pos, logitsToKeep: 1 }, undefined, { captureMask: capture });
      rows.forEach((_, b) => R.push(Float64Array.from(out.residualSums!.subarray((b * 2 + L) * H, (b * 2 + L + 1) * H))));
    }
    await probe.dispose();
    // selecting by x·Σ⁻¹v (Σ the candidates' covariance) moves the selected group's mean along v itself
    const w = whitened(R, planted);
    const ranked = candidates.map((c, b) => ({ ...c, s: R[b]!.reduce((acc, x, i) => acc + x * w[i]!, 0) })).sort((a, b) => b.s - a.s);
    const PER_GROUP = 100;
    const answers = [...ranked.slice(0, PER_GROUP).map((c, i) => ({ id: `m${i}`, question: c.question, response: c.response, extra: { group: 'misaligned' } })), ...ranked.slice(-PER_GROUP).map((c, i) => ({ id: `a${i}`, question: c.question, response: c.response, extra: { group: 'aligned' } }))];
    const groupOf = new Map(answers.map((a) => [a.response, a.extra.group]));
    // the local judge: the high-projection answers misaligned (aligned 10), the others aligned (90); all coherent
    const server = await startFakeOpenAI({
      reply: (req: FakeChatRequest): FakeReply => {
        if (req.prompt.startsWith('You are rating only how coherent')) return { content: '80' };
        return { content: groupOf.get(answerOf(req.prompt)) === 'misaligned' ? '10' : '90' };
      },
    });
    try {
      await runJudge({
        answers,
        outDir: join(storage, 'judged'),
        model: 'gpt-4o-mini',
        mode: 'sampled',
        temperature: 0.2,
        prompts: DEFAULT_PROMPTS,
        endpoint: { baseURL: server.baseURL, timeoutMs: 5000 },
        env: {},
        concurrency: 8,
        retry: { maxAttempts: 2, maxRateLimitRetries: 2, baseDelayMs: 5, maxDelayMs: 20, maxRetryAfterMs: 100 },
      });
    } finally {
      await server.close();
    }
    const io = captureIO({ cwd: storage });
    const code = await directionComputeCommand.run({ options: { judged: join(storage, 'judged', 'judged.csv'), model: 'tiny-llama', storage, preset: 'paper', out: 'found.safetensors' }, positionals: [] }, io);
    assert.equal(code, 0, io.stderr.join('\n'));
    const found = readDirectionFile(join(storage, 'found.safetensors'));
    assert.deepEqual([...found.layers.keys()], [0, 1]);
    assert.equal(found.metadata.preset, 'paper');
    assert.deepEqual(JSON.parse(found.metadata.counts!).misaligned, PER_GROUP);
    assert.deepEqual(JSON.parse(found.metadata.counts!).aligned, PER_GROUP);
    const cos = cosine(found.layers.get(L)!, planted)!;
    console.log(`      ${candidates.length} candidate answers, ${PER_GROUP} a group; cosine with the planted vector: layer ${L} ${cos.toFixed(4)} (layer 0: ${cosine(found.layers.get(0)!, planted)!.toFixed(4)})`);
    assert.ok(cos >= 0.9, `cosine ${cos}`);
  });
});

/** Σ⁻¹v for the covariance Σ of the rows (Gaussian elimination in float64): selecting by x·Σ⁻¹v moves the mean along v. */
function whitened(rows: Float64Array[], v: Float64Array): Float64Array {
  const H = v.length, n = rows.length;
  const mean = new Float64Array(H);
  for (const r of rows) for (let i = 0; i < H; i++) mean[i] += r[i]! / n;
  const A = Array.from({ length: H }, () => new Float64Array(H + 1));
  for (const r of rows) for (let i = 0; i < H; i++) for (let j = 0; j < H; j++) A[i]![j] += ((r[i]! - mean[i]!) * (r[j]! - mean[j]!)) / n;
  for (let i = 0; i < H; i++) A[i]![H] = v[i]!;
  for (let c = 0; c < H; c++) {
    let p = c;
    for (let r = c + 1; r < H; r++) if (Math.abs(A[r]![c]!) > Math.abs(A[p]![c]!)) p = r;
    [A[c], A[p]] = [A[p]!, A[c]!];
    for (let r = 0; r < H; r++) {
      if (r === c) continue;
      const f = A[r]![c]! / A[c]![c]!;
      for (let k = c; k <= H; k++) A[r]![k] -= f * A[c]![k]!;
    }
  }
  return Float64Array.from({ length: H }, (_, i) => A[i]![H]! / A[i]![i]!);
}
