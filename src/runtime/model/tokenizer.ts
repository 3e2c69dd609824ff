// The model's own tokenizer and chat template, through Transformers.js, from a local Hugging Face folder
// (tokenizer.json + tokenizer_config.json; generation_config.json for the stop ids). Offline only: remote loading
// is switched off and every path is absolute, so a folder name that looks like a Hub id is never fetched.
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import type { PreTrainedTokenizer } from '@huggingface/transformers';
import { UserError } from '../errors';
import type { ChatMessage } from './chatTemplate';

export interface ModelTokenizer {
  readonly modelDir: string;
  /** Every id that ends a reply: generation_config.json's eos_token_id (all of them), else the tokenizer's eos. */
  readonly eosTokenIds: readonly number[];
  /** Id used to fill left padding (never attended to): pad, else the first eos. */
  readonly padTokenId: number;
  readonly vocabSize: number;
  /** The prompt ids for a conversation, rendered with the model's chat template (+ the assistant header). */
  encodeChat(messages: readonly ChatMessage[], options?: { addGenerationPrompt?: boolean }): number[];
  /** The template's text for a conversation (what the model sees), for display and logs. */
  renderChat(messages: readonly ChatMessage[], options?: { addGenerationPrompt?: boolean }): string;
  /** Plain text to ids; `addSpecialTokens` adds BOS as the model's post-processor does. */
  encodeText(text: string, addSpecialTokens?: boolean): number[];
  /** Ids to text without special tokens. `cleanUpSpaces` false keeps decoding concatenative (used for streaming). */
  decode(ids: readonly number[], options?: { skipSpecialTokens?: boolean; cleanUpSpaces?: boolean }): string;
  /** The vocabulary entry of one id (byte-level form, e.g. "Ġhello"), for logprob tables. */
  tokenPiece(id: number): string;
}

type TransformersModule = typeof import('@huggingface/transformers');
let transformers: Promise<TransformersModule> | undefined;

/**
 * Loads Transformers.js once (about 0.3 s) with remote loading off and its cache inside our storage.
 * `storageDir` is where EM Lab keeps caches; Transformers.js never writes there for local folders, but its env
 * must not point at a global cache.
 */
export function loadTransformers(storageDir?: string): Promise<TransformersModule> {
  transformers ??= import('@huggingface/transformers').then((m) => {
    m.env.allowRemoteModels = false;
    m.env.allowLocalModels = true;
    if (storageDir) {
      m.env.localModelPath = join(storageDir, 'models');
      m.env.cacheDir = join(storageDir, 'cache', 'transformers');
    }
    return m;
  });
  return transformers;
}

const REQUIRED_FILES = ['tokenizer.json', 'tokenizer_config.json'] as const;

/** Opens the tokenizer of a model folder. Missing or broken files get their own message naming the file. */
export async function loadTokenizer(modelDir: string, storageDir?: string): Promise<ModelTokenizer> {
  const dir = isAbsolute(modelDir) ? modelDir : resolve(modelDir);
  for (const f of REQUIRED_FILES) {
    if (!existsSync(join(dir, f))) {
      throw new UserError(
        'tokenizer-missing',
        `${join(dir, f)} is missing: a model folder needs tokenizer.json and tokenizer_config.json beside config.json. ` +
          'Copy them from the model\'s Hugging Face repo (or re-run `em-lab model pull`).',
      );
    }
  }
  const { AutoTokenizer } = await loadTransformers(storageDir);
  let tok: PreTrainedTokenizer;
  try {
    tok = await AutoTokenizer.from_pretrained(dir, { local_files_only: true });
  } catch (err) {
    throw new UserError('tokenizer-invalid', `Could not load the tokenizer in ${dir}: ${err instanceof Error ? err.message : String(err)}. Check that tokenizer.json and tokenizer_config.json are complete (re-download them).`);
  }
  return wrapTokenizer(dir, tok);
}

/** eos ids from generation_config.json (number or list); undefined when the file or field is absent. */
export function readGenerationEosIds(dir: string): number[] | undefined {
  const file = join(dir, 'generation_config.json');
  if (!existsSync(file)) return undefined;
  let cfg: unknown;
  try {
    cfg = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UserError('generation-config-invalid', `${file} is not valid JSON (${err instanceof Error ? err.message : String(err)}). Fix or delete it.`);
  }
  const eos = (cfg as { eos_token_id?: unknown }).eos_token_id;
  if (typeof eos === 'number') return [eos];
  if (Array.isArray(eos) && eos.every((e) => typeof e === 'number')) return eos as number[];
  return undefined;
}

function wrapTokenizer(dir: string, tok: PreTrainedTokenizer): ModelTokenizer {
  const fromConfig = readGenerationEosIds(dir);
  const eosTokenIds = fromConfig && fromConfig.length > 0 ? fromConfig : typeof tok.eos_token_id === 'number' ? [tok.eos_token_id] : [];
  if (eosTokenIds.length === 0) {
    throw new UserError('tokenizer-no-eos', `${dir}: neither generation_config.json nor tokenizer_config.json names an eos token, so generation could never stop. Add "eos_token_id" to generation_config.json.`);
  }
  const hasTemplate = (): boolean => {
    try {
      return tok.get_chat_template().length > 0;
    } catch {
      return false;
    }
  };
  const templateOrThrow = (): void => {
    if (!hasTemplate()) {
      throw new UserError('chat-template-missing', `${join(dir, 'tokenizer_config.json')} has no chat_template, so chat messages cannot be formatted. Use a chat/instruct model, add its template, or pass raw text (--prompt with --raw).`);
    }
  };
  const vocab = tok.get_vocab() as Map<string, number> | Record<string, number>;
  const vocabSize = vocab instanceof Map ? vocab.size : Object.keys(vocab).length;
  return {
    modelDir: dir,
    eosTokenIds,
    padTokenId: typeof tok.pad_token_id === 'number' ? tok.pad_token_id : eosTokenIds[0]!,
    vocabSize,
    encodeChat(messages, options = {}) {
      templateOrThrow();
      const out = tok.apply_chat_template(messages.map((m) => ({ role: m.role, content: m.content })), {
        add_generation_prompt: options.addGenerationPrompt ?? true,
        tokenize: true,
        return_tensor: false,
        return_dict: false,
      }) as unknown as number[];
      return Array.from(out, Number);
    },
    renderChat(messages, options = {}) {
      templateOrThrow();
      return tok.apply_chat_template(messages.map((m) => ({ role: m.role, content: m.content })), {
        add_generation_prompt: options.addGenerationPrompt ?? true,
        tokenize: false,
      }) as string;
    },
    encodeText(text, addSpecialTokens = true) {
      return tok.encode(text, { add_special_tokens: addSpecialTokens });
    },
    decode(ids, options = {}) {
      return tok.decode([...ids], {
        skip_special_tokens: options.skipSpecialTokens ?? true,
        ...(options.cleanUpSpaces === false ? { clean_up_tokenization_spaces: false } : {}),
      });
    },
    tokenPiece(id) {
      return tok._tokenizer.id_to_token(id) ?? '';
    },
  };
}
