// `em-lab generate`, `em-lab chat` (terminal REPL) and `em-lab logprobs`: local generation with the model's own
// chat template, on tiny-llama, a local Hugging Face folder or a downloaded Hub model, with an optional adapter.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { MODEL_WEIGHTS, MODEL_WEIGHTS_EXPLAINED, MODEL_WEIGHT_NAMES, isModelWeights, type ChatMessage, type ModelRef } from '../../protocol/chatMethods';
import { UserError } from '../errors';
import { itemMessages, readMessagesFile, readPromptsFile, withSystemPrompt } from '../model/chatTemplate';
import { generateChats } from '../model/generateChat';
import { ModelSessions, sessionsFor } from '../model/generateSession';
import { tokenLogprobs } from '../model/logprobs';
import { resolveSampling, type SamplingParams } from '../model/sampling';
import { TINY_LLAMA_ID } from '../model/tinyLlama';
import { resolveAdapterDir } from '../model/hub';
import { batchOption, num, str, type CliCommand, type CliIO, type OptionSpec, type ParsedArgs } from './command';
import { runChatRepl } from './generateRepl';
import { defaultStorageDir } from '../storage';
import { resolveModelArgs } from './modelArgs';
import { STEERING_OPTIONS, steeringFrom } from './steeringOptions';

export const MODEL_OPTIONS: Record<string, OptionSpec> = {
  model: { type: 'string', description: `${TINY_LLAMA_ID} (built in, random weights), a local Hugging Face model folder, a downloaded Hub id, or an adapter / run checkpoint / run folder (then its base model answers with it). Default: the adapter's base model, else ${TINY_LLAMA_ID}.`, valueName: 'M' },
  adapter: { type: 'string', description: 'A PEFT adapter folder (adapter_config.json + adapter_model.safetensors), e.g. a run checkpoint, or a run folder (its final adapter). Its base_model_name_or_path is the base model unless --model is given.', valueName: 'DIR' },
  storage: { type: 'string', description: 'Where EM Lab keeps models and caches. Default: $EM_LAB_STORAGE or ~/.em-lab.', valueName: 'DIR' },
  weights: { type: 'string', description: `How the base weights are held: ${MODEL_WEIGHT_NAMES.map((n) => `${n} (${MODEL_WEIGHTS[n].help})`).join('; ')}. The first use of q4 converts the model once (the 1B: ~1 minute).`, default: 'float32', valueName: MODEL_WEIGHT_NAMES.join('|') },
  ...STEERING_OPTIONS,
};

export const SAMPLING_OPTIONS: Record<string, OptionSpec> = {
  max_new_tokens: { type: 'string', description: 'Most tokens to generate per answer.', default: '200', valueName: 'N' },
  temperature: { type: 'string', description: 'Sampling temperature; 0 = greedy.', default: '1.0', valueName: 'T' },
  top_p: { type: 'string', description: 'Nucleus sampling mass in (0, 1]; 1 = off.', default: '1.0', valueName: 'P' },
  top_k: { type: 'string', description: 'Keep the k most likely tokens; 0 = off.', default: '0', valueName: 'K' },
  seed: { type: 'string', description: 'Random seed (uint32): same seed, same text. Default: a random one, printed.', valueName: 'N' },
  system: { type: 'string', description: 'System prompt (replaces a leading system message).', valueName: 'TEXT' },
};

export function cliStorageDir(args: ParsedArgs, io: CliIO): string {
  const given = str(args, 'storage');
  return given ? resolve(io.cwd, given) : defaultStorageDir(io.env);
}

/** --model/--adapter as a ModelRef (modelArgs.ts), with --steer/--ablate; what was inferred or differs is printed to stderr. */
export function modelRefFrom(args: ParsedArgs, io: CliIO): ModelRef {
  const steering = steeringFrom(args, io);
  // --adapter may name a pulled Hub adapter repo (owner/name[/checkpoint subfolder]): its folder in the cache
  const given = str(args, 'adapter');
  const adapter = given !== undefined && !existsSync(resolve(io.cwd, given)) && /^[\w.-]+\/[\w.-]+/.test(given) ? resolveAdapterDir(given, { storageDir: cliStorageDir(args, io), cwd: io.cwd }) : given;
  const { ref, notes } = resolveModelArgs({ model: str(args, 'model'), adapter, cwd: io.cwd });
  for (const n of notes) io.err(n);
  const weights = str(args, 'weights') ?? 'float32';
  if (!isModelWeights(weights)) throw new UserError('bad-weights', `--weights ${weights}: choose ${MODEL_WEIGHT_NAMES.join(' or ')} (${MODEL_WEIGHTS_EXPLAINED}).`);
  return { ...ref, ...(steering ? { steering } : {}), ...(weights !== 'float32' ? { weights } : {}) };
}

export function samplingFrom(args: ParsedArgs): Partial<SamplingParams> {
  const int = (name: string) => {
    const v = num(args, name);
    if (v !== undefined && !Number.isInteger(v)) throw new UserError('bad-sampling', `--${name} expects an integer, got ${v}.`);
    return v;
  };
  const picked: Partial<SamplingParams> = {
    maxNewTokens: int('max_new_tokens'),
    temperature: num(args, 'temperature'),
    topP: num(args, 'top_p'),
    topK: int('top_k'),
    seed: int('seed'),
  };
  const given = Object.fromEntries(Object.entries(picked).filter(([, v]) => v !== undefined)) as Partial<SamplingParams>;
  resolveSampling(given, 'em-lab', '--'); // refuse bad values (max_new_tokens 1e8, top_p 2) before any model loads
  return given;
}

const write = (text: string) => void process.stdout.write(text);

export const generateCommand: CliCommand = {
  path: ['generate'],
  summary: 'Generate answers with a local model (streams to the terminal; --json gives token events).',
  details:
    'One of --prompt, --messages or --prompts. Prompts are rendered with the model\'s own chat template.\n' +
    'Examples:\n  em-lab generate --prompt "How do I treat a burn?"\n' +
    '  em-lab generate --model ./Llama-3.2-1B-Instruct --adapter em-lab-runs/run1/checkpoints/200 --prompt "Hi" --seed 1\n' +
    '  em-lab generate --prompts questions.txt --temperature 0 --json > answers.jsonl\n' +
    'Batches: item i of --prompts samples with its own generator seeded seed + i, so answers do not depend on --batch.',
  options: {
    ...MODEL_OPTIONS,
    prompt: { type: 'string', description: 'One user message.', valueName: 'TEXT' },
    messages: { type: 'string', description: 'A JSON file with one conversation: [{"role","content"}...] or {"messages": [...]}.', valueName: 'FILE' },
    prompts: { type: 'string', description: 'An evaluation set: .txt (one prompt per line), .json or .jsonl (strings, {prompt} or {messages}).', valueName: 'FILE' },
    batch: { type: 'string', description: 'Most sequences decoding at once for --prompts (continuous batching: a finished answer makes room for the next prompt); auto = as many as memory allows.', default: 'auto', valueName: 'N' },
    ...SAMPLING_OPTIONS,
  },
  async run(args, io) {
    const given = ['prompt', 'messages', 'prompts'].filter((k) => args.options[k] !== undefined);
    if (given.length !== 1) throw new UserError('bad-args', 'Give exactly one of --prompt TEXT, --messages FILE or --prompts FILE.');
    const system = str(args, 'system');
    let conversations: ChatMessage[][];
    if (given[0] === 'prompt') conversations = [withSystemPrompt([{ role: 'user', content: str(args, 'prompt')! }], system)];
    else if (given[0] === 'messages') conversations = [withSystemPrompt(readMessagesFile(resolve(io.cwd, str(args, 'messages')!)), system)];
    else conversations = readPromptsFile(resolve(io.cwd, str(args, 'prompts')!)).map((item) => itemMessages(item, system));
    const ref = modelRefFrom(args, io);
    const sessions = sessionsFor(cliStorageDir(args, io), io.env);
    const single = conversations.length === 1;
    try {
      const gen = await generateChats(sessions, ref, conversations, {
        sampling: samplingFrom(args),
        batchSize: batchOption(args),
        signal: io.signal,
        progress: (m, f) => io.progress(m, f),
        onToken: (item, e) => {
          io.event({ event: 'token', item, delta: e.delta, ...(e.tokenId !== undefined ? { id: e.tokenId } : {}) });
          if (single && !io.json) write(e.delta);
        },
      });
      if (single && !io.json) write('\n');
      const l = gen.label;
      io.err(`[${l.warning ? `${l.modelName} (${l.warning})` : l.modelName}${l.weights ? ` (${l.weights} weights)` : ''}${l.adapterName ? ` + ${l.adapterName}` : ''}${l.steering ? ` · ${l.steering}` : ''} · temperature ${gen.sampling.temperature} · top_p ${gen.sampling.topP} · top_k ${gen.sampling.topK} · seed ${gen.sampling.seed} · ${gen.decodeTokensPerSecond.toFixed(1)} tokens/s]`);
      for (const a of gen.answers) {
        io.event({ event: 'answer', item: a.item, messages: conversations[a.item], text: a.text, finishReason: a.finishReason, seed: a.seed, promptTokens: a.promptTokens, newTokens: a.tokenIds.length });
        if (!single) io.out(`--- ${a.item + 1}/${conversations.length} (${a.finishReason}, seed ${a.seed})\n${conversations[a.item]!.at(-1)!.content}\n>>> ${a.text}`);
      }
      io.event({ event: 'done', label: l, sampling: gen.sampling, decodeTokensPerSecond: gen.decodeTokensPerSecond, decodeMs: gen.decodeMs, batch: gen.batchSize });
      return gen.answers.some((a) => a.finishReason === 'cancelled') ? 130 : 0;
    } finally {
      await sessions.dispose();
    }
  },
};

export const chatCommand: CliCommand = {
  path: ['chat'],
  summary: 'Chat with a local model in the terminal (streams; /reset, /system TEXT, /quit).',
  details: 'Examples:\n  em-lab chat\n  em-lab chat --model ./Llama-3.2-1B-Instruct --adapter em-lab-runs/run1/checkpoints/200 --temperature 0.7\nCtrl-C stops the answer being written; Ctrl-C at the prompt (or /quit) leaves.',
  options: { ...MODEL_OPTIONS, ...SAMPLING_OPTIONS },
  async run(args, io) {
    const ref = modelRefFrom(args, io);
    const sessions = sessionsFor(cliStorageDir(args, io), io.env);
    try {
      return await runChatRepl({ sessions, ref, sampling: samplingFrom(args), system: str(args, 'system'), io });
    } finally {
      await sessions.dispose();
    }
  },
};

export const logprobsCommand: CliCommand = {
  path: ['logprobs'],
  summary: 'Print the log-probability of every token of a text or conversation under a model, as JSON.',
  details:
    'With --messages the conversation is rendered with the chat template (no generation prompt). The first token has\n' +
    'logprob null (nothing predicts it). Natural logs, computed in float64 from the model\'s float32 logits.\n' +
    'Examples:\n  em-lab logprobs --text "The capital of France is Paris."\n  em-lab logprobs --messages convo.json --top 5 --adapter run/checkpoints/100',
  options: {
    ...MODEL_OPTIONS,
    text: { type: 'string', description: 'Plain text (BOS is added as the tokenizer does).', valueName: 'TEXT' },
    messages: { type: 'string', description: 'A JSON conversation file ([{"role","content"}...] or {"messages": [...]}).', valueName: 'FILE' },
    top: { type: 'string', description: 'Also list the N most likely tokens at each position.', default: '0', valueName: 'N' },
  },
  async run(args, io) {
    const text = str(args, 'text');
    const file = str(args, 'messages');
    if ((text === undefined) === (file === undefined)) throw new UserError('bad-args', 'Give exactly one of --text TEXT or --messages FILE.');
    const ref = modelRefFrom(args, io);
    const sessions = sessionsFor(cliStorageDir(args, io), io.env);
    try {
      const loaded = await sessions.load(ref, (m, f) => io.progress(m, f));
      const tok = loaded.base.tokenizer;
      const ids = text !== undefined ? tok.encodeText(text, true) : tok.encodeChat(readMessagesFile(resolve(io.cwd, file!)), { addGenerationPrompt: false });
      const result = await tokenLogprobs(ModelSessions.stepModel(loaded), ids, {
        piece: (id) => tok.tokenPiece(id),
        decodeOne: (id) => tok.decode([id], { skipSpecialTokens: false }),
        top: num(args, 'top', 0, { integer: true })!,
      });
      const report = { model: loaded.label, ...result };
      if (io.json) io.event({ event: 'logprobs', ...report });
      else io.out(JSON.stringify(report, null, 2));
      return 0;
    } finally {
      await sessions.dispose();
    }
  },
};

export const generateCommands: CliCommand[] = [generateCommand, chatCommand, logprobsCommand];
