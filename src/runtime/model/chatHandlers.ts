// Runtime handlers for chat/*: list the models a user can chat with, load one (with progress), and generate a
// streamed answer (chat/token notifications keyed by the caller's streamId; cancel stops between tokens).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { ChatGenerateResult, ChatModelEntry, ModelRef } from '../../protocol/chatMethods';
import type { RuntimeHandlers } from '../rpc/handlerTypes';
import { UserError } from '../errors';
import { absolutePathProblem, isAbsolutePath } from '../../protocol/pathRules';
import { assertEndsWithUser, validateMessages, withSystemPrompt } from './chatTemplate';
import { generateTokens } from './generate';
import { ModelSessions, sessionsFor } from './generateSession';
import { TINY_LLAMA_ID, TINY_LLAMA_LABEL } from './tinyLlama';
import { downloadedHubModels } from './generateSources';

/** The base an adapter names (PEFT base_model_name_or_path), or tiny-llama when it names none we can use. */
export function adapterBase(adapterDir: string): string {
  try {
    const cfg = JSON.parse(readFileSync(join(adapterDir, 'adapter_config.json'), 'utf8')) as { base_model_name_or_path?: unknown };
    const base = cfg.base_model_name_or_path;
    if (typeof base === 'string' && base.length > 0) return base;
  } catch {
    // unreadable config: the load reports it properly
  }
  return TINY_LLAMA_ID;
}

function subdirs(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
  } catch {
    return [];
  }
}

/** tiny-llama, downloaded Hub models, configured folders (models or adapters), and every run checkpoint. */
export function listChatModels(storageDir: string, runsDir: string | undefined, folders: readonly string[]): ChatModelEntry[] {
  const entries: ChatModelEntry[] = [{ id: TINY_LLAMA_ID, kind: 'builtin', label: TINY_LLAMA_LABEL, ref: { model: TINY_LLAMA_ID }, detail: 'Built in: Llama-3.2 architecture and tokenizer, tiny, random weights' }];
  for (const m of downloadedHubModels(storageDir)) {
    if (m.kind === 'model') entries.push({ id: `hub:${m.repoId}`, kind: 'folder', label: m.repoId, ref: { model: m.repoId }, detail: m.dir });
    // a pulled adapter repo (e.g. the paper's): on the base its adapter_config.json names (pulled with it)
    else if (existsSync(join(m.dir, 'adapter_config.json'))) entries.push({ id: `hub-adapter:${m.repoId}`, kind: 'adapter', label: `${m.repoId} (adapter on ${adapterBase(m.dir)})`, ref: { model: adapterBase(m.dir), adapter: m.dir }, detail: m.dir });
  }
  for (const folder of folders) {
    if (existsSync(join(folder, 'config.json'))) entries.push({ id: `folder:${folder}`, kind: 'folder', label: basename(folder), ref: { model: folder }, detail: folder });
    else if (existsSync(join(folder, 'adapter_config.json'))) {
      const base = adapterBase(folder);
      entries.push({ id: `adapter:${folder}`, kind: 'adapter', label: `${basename(folder)} (adapter on ${base})`, ref: { model: base, adapter: folder }, detail: folder });
    }
  }
  if (runsDir) {
    // A run of its own (<runsDir>/<run>/checkpoints) or an experiment's (<runsDir>/<experiment>/train/checkpoints).
    const runs = subdirs(runsDir).sort().flatMap((r) => (existsSync(join(runsDir, r, 'checkpoints')) ? [r] : existsSync(join(runsDir, r, 'train', 'checkpoints')) ? [`${r}/train`] : []));
    for (const run of runs) {
      const cpDir = join(runsDir, run, 'checkpoints');
      const steps = subdirs(cpDir)
        .filter((s) => existsSync(join(cpDir, s, 'adapter_config.json')))
        .sort((a, b) => (Number(b.replace(/\D/g, '')) || 0) - (Number(a.replace(/\D/g, '')) || 0));
      for (const step of steps) {
        const dir = join(cpDir, step);
        const base = adapterBase(dir);
        entries.push({ id: `checkpoint:${dir}`, kind: 'checkpoint', label: `${run} · step ${step.replace(/^\D+/, '')} (on ${base})`, ref: { model: base, adapter: dir }, detail: dir });
      }
    }
  }
  return entries;
}

function checkRef(ref: ModelRef): void {
  if (!ref || typeof ref.model !== 'string' || ref.model.length === 0) {
    throw new UserError('bad-params', 'chat: "model" must be tiny-llama, a model folder or a Hub id.');
  }
  // the runtime boundary checks paths again (the host relays what a webview posted): absolute, no `..`
  const problem = (isAbsolutePath(ref.model) ? absolutePathProblem(ref.model, 'model') : ref.model.split(/[\\/]/).includes('..') ? `model ${JSON.stringify(ref.model)} must not contain ".."` : undefined) ?? (ref.adapter !== undefined ? absolutePathProblem(ref.adapter, 'adapter') : undefined);
  if (problem) throw new UserError('unsafe-path', `chat: ${problem}.`);
}

export const chatHandlers = {
  'chat/listModels': async (params, ctx) => ({ models: listChatModels(ctx.storageDir, params.runsDir, params.folders ?? []) }),

  'chat/load': async (ref, ctx) => {
    checkRef(ref);
    const m = await sessionsFor(ctx.storageDir, ctx.env).load(ref, ctx.progress);
    return { label: m.label, device: m.base.decoder.device, loadMs: m.loadMs, cached: m.cached };
  },

  'chat/generate': async (params, ctx): Promise<ChatGenerateResult> => {
    checkRef(params.ref);
    const t0 = performance.now();
    const loaded = await sessionsFor(ctx.storageDir, ctx.env).load(params.ref, ctx.progress);
    const messages = withSystemPrompt(validateMessages(params.messages, 'chat/generate messages'), params.system);
    assertEndsWithUser(messages, 'chat/generate messages');
    const tok = loaded.base.tokenizer;
    const prompt = tok.encodeChat(messages);
    let firstTokenMs = 0;
    const result = await ModelSessions.using(loaded, () => generateTokens(ModelSessions.stepModel(loaded), [prompt], {
      ...(params.sampling ? { sampling: params.sampling } : {}),
      eosTokenIds: tok.eosTokenIds,
      padTokenId: tok.padTokenId,
      decode: (ids, o) => tok.decode(ids, o),
      signal: ctx.signal,
      onToken: (e) => {
        if (e.index === 0 && firstTokenMs === 0) firstTokenMs = performance.now() - t0;
        ctx.notify('chat/token', { streamId: params.streamId, delta: e.delta, index: e.index });
      },
    }));
    const seq = result.sequences[0]!;
    return {
      streamId: params.streamId,
      text: seq.text,
      finishReason: seq.finishReason,
      sampling: { ...result.sampling, seed: result.sampling.seed! },
      label: loaded.label,
      promptTokens: seq.promptTokens,
      newTokens: seq.tokenIds.length,
      firstTokenMs,
      totalMs: performance.now() - t0,
      decodeTokensPerSecond: result.stats.decodeTokensPerSecond,
    };
  },
} satisfies Pick<RuntimeHandlers, 'chat/listModels' | 'chat/load' | 'chat/generate'>;
