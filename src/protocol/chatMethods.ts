// Chat and generation methods of the runtime (types only; host, runtime and the chat webview import them).
// A generation streams `chat/token` notifications keyed by the caller's streamId, then answers with the full
// result; cancelling the request (by its request id) stops it between tokens and still answers, with
// finishReason 'cancelled' and the text so far.

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

/** Which weights answer: a base model and optionally a LoRA adapter (PEFT folder, e.g. a run checkpoint). */
export interface ModelRef {
  /** 'tiny-llama' (built in), an absolute local Hugging Face folder, or a Hub id such as meta-llama/Llama-3.2-1B-Instruct. */
  model: string;
  /** Absolute path of a PEFT adapter folder (adapter_config.json + adapter_model.safetensors). */
  adapter?: string;
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

// ---- Chat sandbox webview <-> host (postMessage). The host validates every message from the webview. ----

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

export type ChatViewToHost =
  | { type: 'ready' }
  | { type: 'refreshModels' }
  | { type: 'load'; pane: PaneId; ref: ModelRef }
  | { type: 'generate'; pane: PaneId; streamId: string; ref: ModelRef; messages: ChatMessage[]; system?: string; sampling: SamplingSettings }
  | { type: 'stop'; streamId: string }
  | { type: 'export'; format: 'markdown' | 'json'; transcript: Transcript };

export type ChatHostToView =
  | { type: 'models'; models: ChatModelEntry[]; error?: string }
  /** Opened (or re-revealed) with a model/adapter to show: the view puts it in a pane. */
  | { type: 'open'; left?: ModelRef; right?: ModelRef }
  /** `ref` is what was being loaded: a pane that has since switched to another model ignores it. */
  | { type: 'loadProgress'; pane: PaneId; ref: ModelRef; message: string; fraction?: number }
  | { type: 'loaded'; pane: PaneId; ref: ModelRef; result: ChatLoadResult }
  | { type: 'loadFailed'; pane: PaneId; ref: ModelRef; message: string }
  | { type: 'token'; streamId: string; delta: string }
  | { type: 'done'; streamId: string; result: ChatGenerateResult }
  | { type: 'failed'; streamId: string; message: string }
  | { type: 'exported'; path: string }
  /**
   * Sent after `ready` when the view was re-created (hidden and shown again): the text of streams that ran
   * meanwhile, with their result or failure once they ended.
   */
  | { type: 'resume'; streams: { streamId: string; text: string; result?: ChatGenerateResult; failed?: string }[] };
