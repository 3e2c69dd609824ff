// ONNX Runtime sessions over an exported model folder (see decoderExport.ts), with LoRA adapter slots.
// The base weights are loaded once per graph; an adapter is a set of extra feeds (A, and B pre-multiplied by its
// scale), so switching adapter between calls costs nothing and base + N adapters share the LoRA graph's session.
// 4-bit exports on CPU run base-model steps (no adapter, no steering) on the export's plain graph instead: at batch
// 1 the LoRA graph's zero-adapter products, steering hooks and ~250 extra feeds cost 12-15% of a step (issue 18).
// Each graph's session opens on first use, so base-only chat holds one copy of the weights and mixed use two
// (up to PLAIN_BASE_MAX_BYTES of 4-bit weights; bigger models keep one session, as fp32/fp16 exports do).
// Generation (sampling, stopping, batching) is built on top of `forward` elsewhere; see docs/model-engine.md.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors';
import { createSession, tensor, type Device, type OrtSession, type OrtTensor, type SessionRequest } from '../onnx/ort';
import { convertTensor, elementCount, halfToFloat, type HostTensor } from './hostTensor';
import { LORA_TARGETS, linearShape, peftKey, type LlamaConfig } from './llamaConfig';
import { parseModelConfig } from './modelFamilies';
import { suffixFor, type ExportDType, type ExportManifest } from './decoderExport';
import { ABLATE_INPUT, CAPTURE_MASK_INPUT, RESIDUAL_SUMS_OUTPUT, STEER_INPUT } from './residualHooks';

/** Keys and values of every layer, [batch, kvHeads, length, headDim] each; opaque to callers. */
export interface KvCache {
  readonly tensors: readonly OrtTensor[];
  readonly batch: number;
  /** Tokens already in the cache (= attention_mask length minus the new tokens). */
  readonly length: number;
}

export interface DecoderInputs {
  /** Token ids, row-major [batch, seq]. */
  inputIds: BigInt64Array;
  batch: number;
  seq: number;
  /** [batch, past + seq]: 1 for real tokens, 0 for (left) padding. */
  attentionMask: BigInt64Array;
  /** [batch, seq]: position of each new token (cumsum(mask) - 1; padding may use any valid position, e.g. 1). */
  positionIds: BigInt64Array;
  /** The cache from the previous call; omitted on the first call (an empty cache is used). */
  past?: KvCache;
  /** Logits for the last k positions of each row only (0 or omitted = all). Use 1 when only sampling. */
  logitsToKeep?: number;
}

export interface DecoderOutputs {
  /** [batch, kept, vocab] float32, row-major; kept = seq, or logitsToKeep when given (and <= seq). */
  logits: Float32Array;
  /** Positions per row in `logits`. */
  kept: number;
  vocab: number;
  presents: KvCache;
  /** Probe graph with a capture mask: [batch, numLayers, hidden] Σ_t mask[b, t] · residual after each layer. */
  residualSums?: Float32Array;
}

/**
 * A change to one sequence's residual stream (residualHooks.ts). Vectors have the model's hidden size.
 * `steer.vector` is added after decoder layer `steer.layer` at every position (the caller scales it: alpha · d/|d|);
 * `ablate` is a unit vector whose component is removed after the embeddings and after every decoder layer.
 */
export interface ResidualIntervention {
  steer?: { layer: number; vector: Float32Array };
  ablate?: Float32Array;
}

export interface ForwardExtras {
  /** One intervention for every row, or one per row (undefined entries = none); omitted = the plain model. */
  intervention?: ResidualIntervention | readonly (ResidualIntervention | undefined)[];
  /** Probe graph only: [batch, seq] weights of the positions whose residuals are summed into residualSums. */
  captureMask?: Float32Array;
}

/** A LoRA adapter in PEFT form: A [r, in] and B [out, r] by PEFT key, and the scale (alpha/r or alpha/sqrt(r)). */
export interface LoraAdapterWeights {
  rank: number;
  scale: number;
  tensors: ReadonlyMap<string, HostTensor>;
}

export interface DecoderOpenOptions {
  dtype?: ExportDType;
  /** 'probe': the LoRA graph with residual sums (direction computation) instead of the generation graph. */
  graph?: 'generate' | 'probe';
  device?: Device;
  threads?: number;
  /** ORT per-node profiling (benches): the trace is written by endProfiling() (see bench/ortProfile.ts). */
  profile?: string;
  /**
   * Base-model steps on the plain graph (default: for q4 exports on CPU, see the header). false: every step on the
   * LoRA graph, base as a zero adapter (one session whatever the use; the bench's same-run baseline).
   */
  plainBase?: boolean;
}

/**
 * Largest 4-bit weight file for which base steps get their own session (a second copy of the packed weights when
 * base and an adapter are both used): 2 GiB, a 3B model at 4.5 bits; beyond it the 12-15% is not worth the memory.
 */
export const PLAIN_BASE_MAX_BYTES = 2 * 1024 ** 3;

/** The export's graphs a Decoder may run: LoRA inputs + steering, none of them, or the probe (residual sums). */
export type DecoderGraph = 'lora' | 'plain' | 'probe';

export class Decoder {
  private readonly sessions = new Map<DecoderGraph, Promise<OrtSession>>();
  /** The sessions already open (endProfiling is synchronous). */
  private readonly ready = new Map<DecoderGraph, OrtSession>();
  private readonly adapterFeeds = new Map<string, Record<string, OrtTensor>>();
  private readonly baseFeeds: Record<string, OrtTensor> = {};
  /** Zero steering/ablation feeds (batch dim 1, broadcast): the model without intervention, bit for bit. */
  private readonly hookOffFeeds: Record<string, OrtTensor> = {};
  private readonly floatType: 'float32' | 'float16';

  private constructor(
    readonly dir: string,
    readonly config: LlamaConfig,
    readonly manifest: ExportManifest,
    first: { graph: DecoderGraph; session: OrtSession },
    /** How later sessions are made (on the device the first one got: no second CUDA attempt after a fallback). */
    private readonly request: SessionRequest,
    readonly device: Device,
    readonly fallbackReason: string | undefined,
    /** The session runs the probe graph (residual sums). */
    readonly probe: boolean,
    /** Base-model steps run on the plain graph. */
    private readonly plainBase: boolean,
  ) {
    this.sessions.set(first.graph, Promise.resolve(first.session));
    this.ready.set(first.graph, first.session);
    this.floatType = manifest.dtype === 'float16' ? 'float16' : 'float32';
    if (this.supportsSteering) {
      this.hookOffFeeds[STEER_INPUT] = this.floatTensor(new Float32Array(config.numLayers * config.hiddenSize), [1, config.numLayers, config.hiddenSize]);
      this.hookOffFeeds[ABLATE_INPUT] = this.floatTensor(new Float32Array(config.hiddenSize), [1, config.hiddenSize]);
    }
    if (manifest.loraModel) {
      // Base = rank-1 zero adapter on every module: exactly the base logits (W·x + 0).
      for (let l = 0; l < config.numLayers; l++) {
        for (const t of LORA_TARGETS) {
          const [out, inDim] = linearShape(config, t);
          this.baseFeeds[peftKey(l, t, 'A')] = this.floatTensor(new Float32Array(inDim), [1, inDim]);
          this.baseFeeds[peftKey(l, t, 'B')] = this.floatTensor(new Float32Array(out), [out, 1]);
        }
      }
    }
  }

  /** Opens the export in `dir` (made by ensureDecoderExport). Prefers the LoRA graph when the export has one. */
  static async open(dir: string, options: DecoderOpenOptions = {}): Promise<Decoder> {
    const dtype = options.dtype ?? 'float32';
    const manifest = readManifest(dir, dtype); // staleness vs the safetensors is ensureDecoderExport's job
    if (!manifest) throw new UserError('model-export-missing', `${dir}: no ONNX export (${dtype}). Load the model through EM Lab (em-lab model info --export) to build it.`);
    const config = parseModelConfig(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')), join(dir, 'config.json'));
    const probe = options.graph === 'probe';
    if (probe && !manifest.probeModel) throw new UserError('model-no-probe', `${dir}: this export has no probe graph (an export without LoRA inputs?). Load the base model folder instead.`);
    const request: SessionRequest = {
      ...(options.device ? { device: options.device } : {}),
      ...(options.threads ? { threads: options.threads } : {}),
      ...(options.profile ? { profile: options.profile } : {}),
    };
    const plainBase = !probe && manifest.loraModel !== undefined && (options.plainBase ?? (dtype === 'q4' && (options.device ?? 'cpu') === 'cpu' && weightFileBytes(dir, manifest) <= PLAIN_BASE_MAX_BYTES));
    const graph: DecoderGraph = probe ? 'probe' : plainBase || !manifest.loraModel ? 'plain' : 'lora';
    const { session, device, fallbackReason } = await createSession(graphFile(dir, manifest, graph), request);
    return new Decoder(dir, config, manifest, { graph, session }, { ...request, device }, device, fallbackReason, probe, plainBase);
  }

  /** The graphs whose sessions are open (or opening). */
  openGraphs(): DecoderGraph[] {
    return [...this.sessions.keys()];
  }

  /** The session of `graph`, opened on first use. */
  private session(graph: DecoderGraph): Promise<OrtSession> {
    let s = this.sessions.get(graph);
    if (!s) {
      s = createSession(graphFile(this.dir, this.manifest, graph), this.request).then((c) => {
        this.ready.set(graph, c.session);
        return c.session;
      });
      this.sessions.set(graph, s);
      s.catch(() => this.sessions.delete(graph)); // a failed open is retried by the next step, which reports it
    }
    return s;
  }

  /** Longest sequence (cache + new tokens) the export supports (rope table rows). */
  get maxPositions(): number {
    return this.manifest.maxPositions;
  }

  get supportsAdapters(): boolean {
    return this.manifest.loraModel !== undefined;
  }

  /** The session's graph has the steering/ablation inputs (every LoRA export since schema 6). */
  get supportsSteering(): boolean {
    return this.manifest.loraModel !== undefined && this.manifest.steering === true;
  }

  private floatTensor(data: Float32Array, dims: number[]): OrtTensor {
    if (this.floatType === 'float32') return tensor('float32', data, dims);
    return tensor('float16', convertTensor({ dtype: 'float32', shape: dims, data }, 'float16').data as Uint16Array, dims);
  }

  /**
   * Registers (or replaces) an adapter under `id`. Keys must be PEFT keys of this model's modules with shapes
   * A [r, in], B [out, r]; modules the adapter does not touch get zero feeds.
   */
  setAdapter(id: string, adapter: LoraAdapterWeights): void {
    if (!this.supportsAdapters) throw new UserError('model-no-lora', `${this.dir}: this export has no LoRA inputs (a merged model?). Load the base model to use adapters.`);
    const feeds: Record<string, OrtTensor> = { ...this.baseFeeds };
    const r = adapter.rank;
    for (const [key, t] of adapter.tensors) {
      if (!(key in this.baseFeeds)) {
        throw new UserError('adapter-mismatch', `adapter "${id}": tensor ${key} does not match any LoRA module of this model (${this.config.numLayers} layers, targets ${LORA_TARGETS.join(', ')}). Is the adapter for another base model?`);
      }
      const isA = key.endsWith('.lora_A.weight');
      const base = this.baseFeeds[key]!.dims;
      const expected = isA ? [r, base[1]!] : [base[0]!, r];
      if (t.shape.length !== 2 || t.shape[0] !== expected[0] || t.shape[1] !== expected[1]) {
        throw new UserError('adapter-mismatch', `adapter "${id}": ${key} has shape [${t.shape}], expected [${expected}] (rank ${r}). Is the adapter for another base model?`);
      }
      const f32 = Float32Array.from(convertTensor(t, 'float32').data as Float32Array);
      if (!isA && adapter.scale !== 1) for (let i = 0; i < f32.length; i++) f32[i] *= adapter.scale;
      feeds[key] = this.floatTensor(f32, expected);
    }
    // A module with only one of A/B given would mix ranks: refuse.
    for (const key of adapter.tensors.keys()) {
      const other = key.endsWith('.lora_A.weight') ? key.replace('.lora_A.', '.lora_B.') : key.replace('.lora_B.', '.lora_A.');
      if (!adapter.tensors.has(other)) throw new UserError('adapter-mismatch', `adapter "${id}": ${key} has no matching ${other}.`);
    }
    this.adapterFeeds.set(id, feeds);
    if (this.plainBase) void this.session('lora').catch(() => undefined); // open it while the user types; a failure surfaces at the first adapter step
  }

  deleteAdapter(id: string): void {
    this.adapterFeeds.delete(id);
  }

  adapterIds(): string[] {
    return [...this.adapterFeeds.keys()];
  }

  /** An empty cache for `batch` rows (the first call's past). */
  emptyPast(batch: number): KvCache {
    const c = this.config;
    const tensors: OrtTensor[] = [];
    for (let i = 0; i < 2 * c.numLayers; i++) tensors.push(this.floatTensor(new Float32Array(0), [batch, c.numKvHeads, 0, c.headDim]));
    return { tensors, batch, length: 0 };
  }

  /**
   * A new cache whose row i is row `rows[i].row` of `rows[i].past`, right-aligned to `length` positions (the left
   * columns zero: the caller's attention mask marks them as padding; columns a source has beyond `length` on the
   * left are dropped, so they must be padding too). What continuous batching needs to let finished rows go and
   * waiting prompts in: one copy of the live rows' keys and values.
   */
  regroupCache(rows: readonly { past: KvCache; row: number }[], length: number): KvCache {
    const c = this.config;
    const D = c.headDim, KVH = c.numKvHeads;
    const tensors: OrtTensor[] = [];
    for (let t = 0; t < 2 * c.numLayers; t++) {
      const out = this.floatType === 'float32' ? new Float32Array(rows.length * KVH * length * D) : new Uint16Array(rows.length * KVH * length * D);
      rows.forEach(({ past, row }, i) => {
        const src = past.tensors[t]!.data as Float32Array | Uint16Array;
        const P = past.length;
        const keep = Math.min(P, length);
        for (let h = 0; h < KVH; h++) {
          const from = ((row * KVH + h) * P + (P - keep)) * D;
          const to = ((i * KVH + h) * length + (length - keep)) * D;
          out.set(src.subarray(from, from + keep * D), to);
        }
      });
      tensors.push(tensor(this.floatType, out, [rows.length, KVH, length, D]));
    }
    return { tensors, batch: rows.length, length };
  }

  /** The steering/ablation feeds for a run (zeros when there is no intervention). */
  private hookFeeds(batch: number, intervention: ForwardExtras['intervention']): Record<string, OrtTensor> {
    if (intervention === undefined) return this.hookOffFeeds;
    if (!this.supportsSteering) throw new UserError('model-no-steering', `${this.dir}: this export has no steering inputs (a model without the LoRA graph). Load the base model folder to steer or ablate.`);
    const { numLayers: L, hiddenSize: H } = this.config;
    const rows = Array.isArray(intervention) ? (intervention as readonly (ResidualIntervention | undefined)[]) : [intervention as ResidualIntervention];
    if (rows.length !== 1 && rows.length !== batch) throw new Error(`forward: ${rows.length} interventions for a batch of ${batch} (give one, or one per row)`);
    const steer = new Float32Array(rows.length * L * H);
    const ablate = new Float32Array(rows.length * H);
    rows.forEach((r, b) => {
      if (r?.steer) {
        if (!Number.isInteger(r.steer.layer) || r.steer.layer < 0 || r.steer.layer >= L) throw new UserError('steer-layer', `steering layer ${r.steer.layer} is out of range: this model has decoder layers 0..${L - 1}.`);
        if (r.steer.vector.length !== H) throw new UserError('direction-size', `the steering vector has ${r.steer.vector.length} values, this model's hidden size is ${H}.`);
        steer.set(r.steer.vector, (b * L + r.steer.layer) * H);
      }
      if (r?.ablate) {
        if (r.ablate.length !== H) throw new UserError('direction-size', `the ablation direction has ${r.ablate.length} values, this model's hidden size is ${H}.`);
        ablate.set(r.ablate, b * H);
      }
    });
    return { [STEER_INPUT]: this.floatTensor(steer, [rows.length, L, H]), [ABLATE_INPUT]: this.floatTensor(ablate, [rows.length, H]) };
  }

  /** One decoder run. `adapterId` undefined = the base model. */
  async forward(inputs: DecoderInputs, adapterId?: string, extras: ForwardExtras = {}): Promise<DecoderOutputs> {
    const { batch, seq } = inputs;
    const past = inputs.past ?? this.emptyPast(batch);
    const total = past.length + seq;
    if (inputs.inputIds.length !== batch * seq) throw new Error(`forward: inputIds has ${inputs.inputIds.length} ids, expected batch*seq = ${batch * seq}`);
    if (inputs.attentionMask.length !== batch * total) throw new Error(`forward: attentionMask has ${inputs.attentionMask.length} entries, expected batch*(past+seq) = ${batch * total}`);
    if (inputs.positionIds.length !== batch * seq) throw new Error(`forward: positionIds has ${inputs.positionIds.length} entries, expected ${batch * seq}`);
    if (past.batch !== batch) throw new Error(`forward: past cache has batch ${past.batch}, inputs have ${batch}`);
    if (total > this.maxPositions) {
      throw new UserError('model-context-full', `The sequence reached ${total} tokens, beyond the ${this.maxPositions} positions this export supports. Use fewer new tokens or re-export with a larger maxPositions.`);
    }
    let adapter = this.baseFeeds;
    if (adapterId !== undefined) {
      const f = this.adapterFeeds.get(adapterId);
      if (!f) throw new Error(`forward: no adapter "${adapterId}" is loaded (loaded: ${this.adapterIds().join(', ') || 'none'})`);
      adapter = f;
    }
    if (this.probe && extras.captureMask?.length !== batch * seq) throw new Error(`forward: the probe graph needs a captureMask of batch*seq = ${batch * seq} values`);
    const graph: DecoderGraph = this.probe ? 'probe' : !this.supportsAdapters || (this.plainBase && adapterId === undefined && extras.intervention === undefined) ? 'plain' : 'lora';
    const withLoraInputs = graph !== 'plain';
    const feeds: Record<string, OrtTensor> = {
      ...(withLoraInputs ? adapter : {}),
      // (an intervention on an export without steering inputs reaches hookFeeds, which says so)
      ...((withLoraInputs && this.supportsSteering) || extras.intervention !== undefined ? this.hookFeeds(batch, extras.intervention) : {}),
      ...(this.probe ? { [CAPTURE_MASK_INPUT]: this.floatTensor(extras.captureMask!, [batch, seq]) } : {}),
      input_ids: tensor('int64', inputs.inputIds, [batch, seq]),
      attention_mask: tensor('int64', inputs.attentionMask, [batch, total]),
      position_ids: tensor('int64', inputs.positionIds, [batch, seq]),
      num_logits_to_keep: tensor('int64', BigInt64Array.of(BigInt(inputs.logitsToKeep ?? 0)), []),
    };
    const L = this.config.numLayers;
    for (let i = 0; i < L; i++) {
      feeds[`past_key_values.${i}.key`] = past.tensors[2 * i]!;
      feeds[`past_key_values.${i}.value`] = past.tensors[2 * i + 1]!;
    }
    const out = await (await this.session(graph)).run(feeds);
    const presents: OrtTensor[] = [];
    for (let i = 0; i < L; i++) presents.push(out[`present.${i}.key`]!, out[`present.${i}.value`]!);
    const raw = out.logits!;
    const logits = raw.type === 'float32' ? (raw.data as Float32Array) : Float32Array.from(raw.data as Uint16Array, halfToFloat);
    const kept = inputs.logitsToKeep ? Math.min(inputs.logitsToKeep, seq) : seq;
    if (logits.length !== batch * kept * this.config.vocabSize) throw new Error(`forward: logits have ${logits.length} values, expected ${batch * kept * this.config.vocabSize}`);
    const sums = out[RESIDUAL_SUMS_OUTPUT];
    const residualSums = sums ? (sums.type === 'float32' ? (sums.data as Float32Array) : Float32Array.from(sums.data as Uint16Array, halfToFloat)) : undefined;
    return { logits, vocab: this.config.vocabSize, kept, presents: { tensors: presents, batch, length: total }, ...(residualSums ? { residualSums } : {}) };
  }

  /** Ends profiling (opened with `profile`); ORT writes the trace file. */
  endProfiling(): void {
    for (const session of this.ready.values()) session.endProfiling();
  }

  async dispose(): Promise<void> {
    this.adapterFeeds.clear();
    const open = [...this.sessions.values()];
    this.sessions.clear();
    this.ready.clear();
    for (const s of await Promise.allSettled(open)) if (s.status === 'fulfilled') await s.value.release();
  }
}

/** Size of the export's external weight file (0 when the weights are inline: a tiny model). */
function weightFileBytes(dir: string, manifest: ExportManifest): number {
  try {
    return statSync(`${join(dir, 'onnx', manifest.model)}_data`).size;
  } catch {
    return 0;
  }
}

function graphFile(dir: string, manifest: ExportManifest, graph: DecoderGraph): string {
  return join(dir, 'onnx', graph === 'probe' ? manifest.probeModel! : graph === 'lora' ? manifest.loraModel! : manifest.model);
}

function readManifest(dir: string, dtype: ExportDType): ExportManifest | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, 'onnx', `export${suffixFor(dtype)}.json`), 'utf8')) as ExportManifest;
  } catch {
    return undefined;
  }
}

/** Total float elements in an adapter (for memory estimates and display). */
export function adapterSize(adapter: LoraAdapterWeights): number {
  let n = 0;
  for (const t of adapter.tensors.values()) n += elementCount(t.shape);
  return n;
}
