// Chat and generation methods of the runtime (types only; host, runtime and the chat webview import them).
// A generation streams `chat/token` notifications keyed by the caller's streamId, then answers with the full
// result; cancelling the request (by its request id) stops it between tokens and still answers, with
// finishReason 'cancelled' and the text so far.
import type { DirectionInfo } from './directionMethods';

export type ChatRole = 'system' | 'user' | 'assistant';

export interface ChatMessage {
  role: ChatRole;
  content: string;
}

/** Sampling as the user sets it; absent fields take the homework defaults (200 tokens, temperature 1, top_p 1). */
export interface SamplingSettings {
  temperature?: number;
  topP?: number;
  /** 0 = off. */
  topK?: number;
  maxNewTokens?: number;
  /** uint32; absent = a random seed, reported in the result. */
  seed?: number;
}

/** Sampling exactly as a generation used it (seed included). */
export interface ResolvedSampling {
  temperature: number;
  topP: number;
  topK: number;
  maxNewTokens: number;
  seed: number;
}

/**
 * How a base model's weights are held for generation: the one table behind the CLI's --weights, the chat setting
 * and the checks. float32: the checkpoint's weights (the homework's numbers). q4: 4-bit blocks (ONNX MatMulNBits,
 * blocks of 64, int8 activations), about 5x faster batch-1 decoding on CPU and a seventh of the memory, with answers
 * that differ from fp32's by the rounding (docs/model-engine.md); adapters stay in full precision on top.
 */
export const MODEL_WEIGHTS = {
  float32: { label: 'full precision', help: 'the checkpoint\'s weights in fp32 (what the homework and the experiments measure)' },
  q4: { label: '4-bit', help: '4-bit weights: ~5x faster chat on CPU, ~1/7 of the memory; answers differ slightly from full precision' },
} as const;
export type ModelWeights = keyof typeof MODEL_WEIGHTS;
export const MODEL_WEIGHT_NAMES = Object.keys(MODEL_WEIGHTS) as ModelWeights[];
export const isModelWeights = (v: unknown): v is ModelWeights => (MODEL_WEIGHT_NAMES as unknown[]).includes(v);
/** The choices with what each means, for the errors that refuse another value. */
export const MODEL_WEIGHTS_EXPLAINED = MODEL_WEIGHT_NAMES.map((n) => `${n}: ${MODEL_WEIGHTS[n].help}`).join('; ');

/** Which weights answer: a base model and optionally a LoRA adapter (PEFT folder, e.g. a run checkpoint). */
export interface ModelRef {
  /** 'tiny-llama' (built in), an absolute local Hugging Face folder, or a Hub id such as meta-llama/Llama-3.2-1B-Instruct. */
  model: string;
  /** Absolute path of a PEFT adapter folder (adapter_config.json + adapter_model.safetensors). */
  adapter?: string;
  /** A direction added to or removed from the residual stream (docs/steering.md); absent = the model as it is. */
  steering?: SteeringRef;
  /** How the base weights are held (MODEL_WEIGHTS); absent = float32. */
  weights?: ModelWeights;
}

/**
 * Residual-stream interventions with direction files (safetensors, `layers.{L}` [hidden] each; absolute paths).
 * steer: adds alpha · d_L/|d_L| after decoder layer `layer`, at every position.
 * ablate: removes the component along d_L/|d_L| after the embeddings and after every decoder layer.
 */
export interface SteeringRef {
  steer?: { file: string; layer: number; alpha: number };
  ablate?: { file: string; layer: number };
}

/** How a model (and adapter) is described to the user: enough to say exactly what produced a message. */
export interface ModelLabel {
  /** Short display name, e.g. "tiny-llama (random weights — writes gibberish)" or "Llama-3.2-1B-Instruct". */
  modelName: string;
  /** What `model` resolved to on disk. */
  modelDir: string;
  adapterName?: string;
  adapterDir?: string;
  /** Run and step when the adapter is a run checkpoint (<runsDir>/<run>/checkpoints/<step>/). */
  run?: string;
  step?: number;
  /** Shown next to the name (tiny-llama: "random weights — writes gibberish"). */
  warning?: string;
  /** The steering in effect, in words (e.g. "steer +8.0 × direction.safetensors@L8"). */
  steering?: string;
  /** Set when the weights are not full precision: MODEL_WEIGHTS' label ("4-bit"). */
  weights?: string;
}

export interface ChatModelEntry {
  /** Stable id for pickers. */
  id: string;
  kind: 'builtin' | 'folder' | 'checkpoint' | 'adapter';
  /** What the picker shows. */
  label: string;
  ref: ModelRef;
  detail?: string;
}

export interface ChatListModelsParams {
  /** Where run directories live (the host's runsDir); checkpoints found under it are listed. */
  runsDir?: string;
  /** Model or adapter folders configured by the user (settings). */
  folders?: string[];
}

export interface ChatLoadResult {
  label: ModelLabel;
  device: 'cpu' | 'cuda';
  loadMs: number;
  /** Whether the model was already loaded (no work done). */
  cached: boolean;
}

export interface ChatGenerateParams {
  /** Caller-chosen id that keys this generation's chat/token notifications. */
  streamId: string;
  ref: ModelRef;
  /** The conversation so far, ending with the user turn to answer. */
  messages: ChatMessage[];
  /** Optional system prompt (replaces a leading system message). */
  system?: string;
  sampling?: SamplingSettings;
}

export interface ChatGenerateResult {
  streamId: string;
  text: string;
  finishReason: 'eos' | 'length' | 'cancelled';
  sampling: ResolvedSampling;
  label: ModelLabel;
  promptTokens: number;
  newTokens: number;
  /** Time to the first token (prefill included), ms. */
  firstTokenMs: number;
  totalMs: number;
  decodeTokensPerSecond: number;
}

export interface ChatMethods {
  'chat/listModels': [ChatListModelsParams, { models: ChatModelEntry[] }];
  /** Loads (or finds loaded) a model and adapter; progress notifications carry the load steps. */
  'chat/load': [ModelRef, ChatLoadResult];
  'chat/generate': [ChatGenerateParams, ChatGenerateResult];
}

export interface ChatNotifications {
  /** One per new token (and a last one flushing held-back text). */
  'chat/token': { streamId: string; delta: string; index: number };
}

// ---- Chat views (sidebar and editor tab) <-> host. The host validates every request from a view. ----

export type PaneId = 'left' | 'right';

/** What produced an assistant message: shown under it and written into exports. */
export interface MessageProvenance {
  label: ModelLabel;
  sampling: ResolvedSampling;
  system?: string;
  finishReason: 'eos' | 'length' | 'cancelled';
  newTokens: number;
  decodeTokensPerSecond: number;
  /** ISO time the answer finished. */
  finishedAt: string;
}

export interface TranscriptMessage {
  role: ChatRole;
  content: string;
  provenance?: MessageProvenance;
}

export interface TranscriptPane {
  pane: PaneId;
  /** What the pane's picker showed when exported. */
  title: string;
  messages: TranscriptMessage[];
}

export interface Transcript {
  schemaVersion: 1;
  exportedAt: string;
  system?: string;
  panes: TranscriptPane[];
}

/** What a command asks a chat view to show: models for the panes (Open in Chat), a prompt (Ask About Selection). */
export interface ChatOpenRequest {
  /** Set by the host: a request may reach the page twice (pushed, and again with the next init); applied once. */
  id?: number;
  left?: ModelRef;
  right?: ModelRef;
  /** Put this in the prompt box; with `send`, ask it at once. */
  prompt?: string;
  send?: boolean;
}

/** A generation that ran while the view was hidden or re-created: its text so far and, once ended, how. */
export interface ChatStreamReplay {
  streamId: string;
  text: string;
  result?: ChatGenerateResult;
  failed?: string;
}

/** Where a chat view lives: the EM Lab sidebar (narrow: panes stacked) or an editor tab (panes side by side). */
export type ChatSurface = 'sidebar' | 'panel';

export interface ChatViewInit {
  surface: ChatSurface;
  models: ChatModelEntry[];
  /** Why the model list is empty or partial. */
  modelsError?: string;
  /** A command's request that arrived before the view was ready. */
  open?: ChatOpenRequest;
  /** Always present (possibly empty), so the view can tell interrupted answers apart from replayed ones. */
  streams: ChatStreamReplay[];
}

export interface ChatViewGenerateParams {
  pane: PaneId;
  streamId: string;
  ref: ModelRef;
  messages: ChatMessage[];
  system?: string;
  sampling: SamplingSettings;
}

/**
 * Chat view -> host, in the rpc.ts envelope. A generation is accepted at once and then streams as notifications
 * (`sandbox/token`, then `sandbox/done` or `sandbox/failed`), so it outlives a view that is hidden and re-created.
 */
export interface ChatViewMethods {
  'sandbox/init': [Record<string, never>, ChatViewInit];
  'sandbox/listModels': [Record<string, never>, { models: ChatModelEntry[]; error?: string }];
  /** Loads a pane's model; `sandbox/loadProgress` notifications carry the steps. */
  'sandbox/load': [{ pane: PaneId; ref: ModelRef }, ChatLoadResult];
  'sandbox/generate': [ChatViewGenerateParams, { accepted: true }];
  'sandbox/stop': [{ streamId: string }, { stopped: boolean }];
  /** Asks for the format (unless given) and where to save, then writes; `path` is absent when the user cancelled. */
  'sandbox/export': [{ format?: 'markdown' | 'json'; transcript: Transcript }, { path?: string }];
  /** A direction file's layers and |d| per layer, for a pane's steering control (docs/steering.md). */
  'sandbox/directionInfo': [{ file: string }, DirectionInfo];
  /** The file dialog; `file` is absent when the user cancelled. */
  'sandbox/pickDirection': [Record<string, never>, { file?: string }];
}

export interface ChatViewNotifications {
  /** Opened (or re-revealed) by a command with models or a prompt to show. */
  'sandbox/open': ChatOpenRequest;
  /** `ref` is what is loading: a pane that has switched to another model since ignores it. */
  'sandbox/loadProgress': { pane: PaneId; ref: ModelRef; message: string; fraction?: number };
  'sandbox/token': { streamId: string; delta: string };
  'sandbox/done': { streamId: string; result: ChatGenerateResult };
  'sandbox/failed': { streamId: string; message: string };
}
