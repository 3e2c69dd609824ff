// `em-lab serve`: EM Lab's engine (a base model plus named LoRA adapters) as an OpenAI-compatible Chat Completions
// endpoint on this machine, until Ctrl-C.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { UserError } from '../errors';
import { sessionsFor } from '../model/generateSession';
import { startChatServer } from '../serve/chatServer';
import { bool, list, num, str, type CliCommand } from './command';
import { MODEL_OPTIONS, cliStorageDir, modelRefFrom } from './generateCommands';

/** NAME=DIR pairs of --adapter; names are what clients put in "model". */
function adaptersFrom(specs: readonly string[], cwd: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const s of specs) {
    const i = s.indexOf('=');
    if (i <= 0 || i === s.length - 1) throw new UserError('bad-adapter', `--adapter ${s}: expected NAME=FOLDER, e.g. --adapter medical=em-lab-runs/medical/checkpoints/step-200.`);
    const name = s.slice(0, i);
    const dir = resolve(cwd, s.slice(i + 1));
    if (!/^[\w.:/-]+$/.test(name)) throw new UserError('bad-adapter', `--adapter ${s}: the name may hold letters, digits and . _ - : / only.`);
    if (out.has(name)) throw new UserError('bad-adapter', `--adapter ${name} is given twice; each served name must be unique.`);
    if (!existsSync(resolve(dir, 'adapter_model.safetensors'))) throw new UserError('adapter-not-found', `--adapter ${s}: ${dir} is not a PEFT adapter folder (no adapter_model.safetensors).`);
    out.set(name, dir);
  }
  return out;
}

export const serveCommand: CliCommand = {
  path: ['serve'],
  summary: 'Serve a local model and LoRA adapters as an OpenAI-compatible Chat Completions endpoint (until Ctrl-C).',
  details: [
    'Clients ask for the base model by its name (--served-model-name, default the --model value) and for an adapter by',
    'the NAME given in --adapter NAME=FOLDER. Streaming and n are supported; choice i of a request with seed S samples',
    'with S + i, the same tokens as `em-lab generate --seed S+i`. Adapters can also be added and removed while serving',
    '(vLLM\'s POST /v1/load_lora_adapter {lora_name, lora_path} and /v1/unload_lora_adapter), so `em-lab sweep --base-url`',
    'works against it. Requests run one at a time. Set EM_LAB_SERVE_API_KEY to require that key as a Bearer token.',
    'Examples:',
    '  em-lab serve --model tiny-llama --adapter medical=em-lab-runs/medical/checkpoints/step-200 --port 8000',
    '  OPENAI_BASE_URL=http://127.0.0.1:8000/v1 inspect eval ... --model openai/medical',
  ].join('\n'),
  options: {
    ...MODEL_OPTIONS,
    adapter: { type: 'string', multiple: true, description: 'NAME=FOLDER: serve a PEFT adapter (e.g. a run checkpoint) under NAME; repeat for more.', valueName: 'NAME=DIR' },
    'served-model-name': { type: 'string', description: 'The base model\'s name for clients. Default: the --model value.', valueName: 'NAME' },
    host: { type: 'string', description: 'Address to listen on. Anything but 127.0.0.1 / ::1 exposes the models to your network.', default: '127.0.0.1', valueName: 'HOST' },
    port: { type: 'string', description: 'Port; 0 picks a free one (printed).', default: '8000', valueName: 'N' },
    'max-tokens': { type: 'string', description: 'Answer length when a request gives no max_tokens.', default: '200', valueName: 'N' },
    'no-adapter-loading': { type: 'boolean', description: 'Refuse /v1/load_lora_adapter and /v1/unload_lora_adapter.' },
  },
  async run(args, io) {
    const ref = modelRefFrom({ ...args, options: { ...args.options, adapter: undefined } }, io);
    const adapters = adaptersFrom(list(args, 'adapter') ?? [], io.cwd);
    const name = str(args, 'served-model-name') ?? str(args, 'model') ?? ref.model;
    if (adapters.has(name)) throw new UserError('bad-adapter', `--adapter ${name}=... uses the base model's name; pick another name.`);
    const port = num(args, 'port', 8000)!;
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UserError('bad-port', `--port ${port}: use 0-65535.`);
    const maxTokens = num(args, 'max-tokens', 200)!;
    if (!Number.isInteger(maxTokens) || maxTokens < 1) throw new UserError('bad-max-tokens', `--max-tokens ${maxTokens}: use a whole number >= 1.`);
    const host = str(args, 'host') ?? '127.0.0.1';
    const sessions = sessionsFor(cliStorageDir(args, io), io.env);
    try {
      // Load everything before listening: a bad folder fails now, and the first request is not slow.
      await sessions.load(ref, (m, f) => io.progress(m, f));
      for (const dir of adapters.values()) await sessions.load({ ...ref, adapter: dir }, (m, f) => io.progress(m, f));
      const server = await startChatServer({
        sessions,
        base: { name, model: ref.model, ...(ref.weights ? { weights: ref.weights } : {}) },
        adapters,
        host,
        port,
        defaultMaxTokens: maxTokens,
        allowAdapterLoading: !bool(args, 'no-adapter-loading'),
        ...(io.env.EM_LAB_SERVE_API_KEY ? { apiKey: io.env.EM_LAB_SERVE_API_KEY } : {}),
        log: (line) => io.err(line),
      });
      if (host !== '127.0.0.1' && host !== '::1' && host !== 'localhost') io.err(`warning: listening on ${host}: anyone who can reach this machine can use these models${io.env.EM_LAB_SERVE_API_KEY ? '' : ' (no EM_LAB_SERVE_API_KEY set)'}.`);
      io.out(`Serving ${server.models().join(', ')} at ${server.baseURL} (Ctrl-C to stop).`);
      io.event({ event: 'listening', baseURL: server.baseURL, models: server.models() });
      await new Promise<void>((done) => (io.signal.aborted ? done() : io.signal.addEventListener('abort', () => done(), { once: true })));
      await server.close();
      io.err('stopped.');
      return 0;
    } finally {
      await sessions.dispose();
    }
  },
};

export const serveCommands: CliCommand[] = [serveCommand];
