// One judge request through the `openai` client, in either scoring mode, with its reply turned into a score.
import type OpenAI from 'openai';
import type { ScoreLabel } from '../judgedAnswer';
import { MalformedReplyError } from './retry';
import { parseSampledReply, scoreFromTopLogprobs } from './scoring';
import type { TokenUsage } from './cost';

export type JudgeMode = 'sampled' | 'logprob';

export interface JudgeCallParams {
  model: string;
  mode: JudgeMode;
  /** Sampled mode only (the homework uses 0.2). */
  temperature: number;
  /** The filled-in judge prompt, sent as the single user message. */
  prompt: string;
}

export interface JudgeOutcome {
  score: number | null;
  label?: ScoreLabel;
  /** The reply text (sampled) or the most likely token (logprob), kept for 'invalid' answers. */
  raw: string;
  /** Logprob mode: probability of each of the top tokens, and the mass on integer tokens 0..100. */
  distribution?: Record<string, number>;
  integerMass?: number;
  usage: TokenUsage;
}

/** The Chat Completions body of one judge request; the live judge sends it, a batch file carries it. */
export function judgeRequestBody(p: JudgeCallParams): OpenAI.Chat.ChatCompletionCreateParamsNonStreaming {
  const messages = [{ role: 'user' as const, content: p.prompt }];
  return p.mode === 'logprob'
    ? { model: p.model, messages, max_tokens: 1, temperature: 0, logprobs: true, top_logprobs: 20, seed: 0 }
    : // the grader's request exactly (eval/judge.py query_gpt): model, the one user message, temperature; nothing else
      { model: p.model, messages, temperature: p.temperature };
}

export async function callJudge(client: OpenAI, p: JudgeCallParams, signal?: AbortSignal): Promise<JudgeOutcome> {
  return parseJudgeCompletion(await client.chat.completions.create(judgeRequestBody(p), { signal }), p.mode);
}

/** A judge reply (live, or one line of a batch's output) as a score; MalformedReplyError when it is not usable. */
export function parseJudgeCompletion(completion: unknown, mode: JudgeMode): JudgeOutcome {
  const c = completion as OpenAI.Chat.ChatCompletion | null;
  if (!c || typeof c !== 'object' || !Array.isArray(c.choices)) throw new MalformedReplyError('The judge endpoint returned something that is not a chat completion.');
  const choice = c.choices[0];
  if (!choice) throw new MalformedReplyError('The judge endpoint returned a completion without choices.');
  const usage: TokenUsage = { promptTokens: c.usage?.prompt_tokens ?? 0, completionTokens: c.usage?.completion_tokens ?? 0 };
  if (mode === 'logprob') {
    const top = choice.logprobs?.content?.[0]?.top_logprobs;
    if (!Array.isArray(top) || top.length === 0) {
      throw new MalformedReplyError('The judge endpoint returned no top_logprobs; logprob scoring needs a server that supports logprobs (OpenAI, vLLM). Use --mode sampled otherwise.');
    }
    const s = scoreFromTopLogprobs(top);
    return { score: s.value, ...(s.label ? { label: s.label } : {}), raw: choice.logprobs?.content?.[0]?.token ?? '', distribution: s.distribution, integerMass: s.integerMass, usage };
  }
  const text = choice.message?.content;
  if (typeof text !== 'string') throw new MalformedReplyError('The judge endpoint returned a choice without message content.');
  const s = parseSampledReply(text);
  return { score: s.value, ...(s.label ? { label: s.label } : {}), raw: text, usage };
}
