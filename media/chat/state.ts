// The chat sandbox's UI state: what is persisted with setState (conversations, settings) and what is rebuilt
// on load (model list, load status, live streams). Browser code only.
import type { SteeringFields } from './steeringFields';
import type { ChatModelEntry, ChatRole, MessageProvenance, ModelLabel, ModelRef, PaneId, ResolvedSampling, SamplingSettings, Transcript } from '../../src/protocol/chatMethods';

export interface UiMessage {
  role: ChatRole;
  content: string;
  /** Set while the answer streams (and kept so a re-created view can match `resume`). */
  streamId?: string;
  pending?: boolean;
  /** What a pending answer was asked with (labels it if the user stops it: a stopped request returns no result). */
  request?: { sampling: ResolvedSampling; system?: string; steering?: string };
  provenance?: MessageProvenance;
  error?: string;
}

export interface PaneState {
  ref?: ModelRef;
  /** The picker entry id (absent for a ref passed by a command that the list does not have). */
  entryId?: string;
  title: string;
  label?: ModelLabel;
  messages: UiMessage[];
  /** The pane's steering control (steeringControl.ts); absent = off. */
  steering?: SteeringFields;
}

/** Sampling fields as typed (strings: empty = default). */
export interface SamplingFields {
  temperature: string;
  topP: string;
  topK: string;
  maxNewTokens: string;
  seed: string;
}

export interface PersistedState {
  schemaVersion: 1;
  mode: 'two' | 'single';
  system: string;
  sampling: SamplingFields;
  panes: Record<PaneId, PaneState>;
  /** The last "Open in Chat" / "Ask About Selection" request applied (each is applied once). */
  lastOpenId?: number;
}

export interface LoadStatus {
  state: 'idle' | 'loading' | 'ready' | 'failed';
  text: string;
  fraction?: number;
}

/** Homework defaults (must equal the runtime's DEFAULT_SAMPLING; used to label a stopped answer). */
export const DEFAULTS = { temperature: 1, topP: 1, topK: 0, maxNewTokens: 200 } as const;

export function freshState(mode: PersistedState['mode'] = 'two'): PersistedState {
  return {
    schemaVersion: 1,
    mode,
    system: '',
    sampling: { temperature: '1', topP: '1', topK: '0', maxNewTokens: '200', seed: '' },
    panes: { left: { title: '', messages: [] }, right: { title: '', messages: [] } },
  };
}

export function restoreState(saved: unknown, mode: PersistedState['mode'] = 'two'): PersistedState {
  const s = saved as Partial<PersistedState> | undefined;
  if (!s || s.schemaVersion !== 1 || !s.panes?.left || !s.panes?.right) return freshState(mode);
  return s as PersistedState;
}

/**
 * The sampling request: typed numbers, or the defaults. Without a seed the view draws one, so every answer is
 * labelled with the seed that produced it (and both panes share it, which makes base and adapter comparable).
 */
export function samplingFromFields(f: SamplingFields): { settings: SamplingSettings; resolved: ResolvedSampling; problem?: string } {
  const read = (text: string, fallback: number): number => (text.trim() === '' ? fallback : Number(text));
  const settings = {
    temperature: read(f.temperature, DEFAULTS.temperature),
    topP: read(f.topP, DEFAULTS.topP),
    topK: read(f.topK, DEFAULTS.topK),
    maxNewTokens: read(f.maxNewTokens, DEFAULTS.maxNewTokens),
    seed: f.seed.trim() === '' ? Math.floor(Math.random() * 0x100000000) : Number(f.seed),
  };
  let problem: string | undefined;
  if (!(settings.temperature >= 0)) problem = 'temperature must be a number >= 0 (0 = greedy)';
  else if (!(settings.topP > 0 && settings.topP <= 1)) problem = 'top_p must be in (0, 1]';
  else if (!Number.isInteger(settings.topK) || settings.topK < 0) problem = 'top_k must be an integer >= 0 (0 = off)';
  else if (!Number.isInteger(settings.maxNewTokens) || settings.maxNewTokens < 1) problem = 'max new tokens must be an integer >= 1';
  else if (!Number.isInteger(settings.seed) || settings.seed < 0 || settings.seed > 0xffffffff) problem = 'seed must be an integer in [0, 4294967295] (or empty for a random one)';
  return { settings, resolved: settings, ...(problem ? { problem } : {}) };
}

/** The entry to preselect: tiny-llama on the left; on the right the newest checkpoint/adapter, else the same. */
export function defaultEntry(models: readonly ChatModelEntry[], pane: PaneId): ChatModelEntry | undefined {
  if (pane === 'right') return models.find((m) => m.kind === 'checkpoint' || m.kind === 'adapter') ?? models[0];
  return models.find((m) => m.kind === 'builtin') ?? models[0];
}

export function sameRef(a: ModelRef | undefined, b: ModelRef | undefined): boolean {
  return !!a && !!b && a.model === b.model && (a.adapter ?? '') === (b.adapter ?? '');
}

/** What the export writes: the visible panes, finished messages only. */
export function toTranscript(s: PersistedState): Transcript {
  const panes: PaneId[] = s.mode === 'two' ? ['left', 'right'] : ['left'];
  return {
    schemaVersion: 1,
    exportedAt: new Date().toISOString(),
    ...(s.system ? { system: s.system } : {}),
    panes: panes.map((p) => ({
      pane: p,
      title: s.panes[p].title,
      messages: s.panes[p].messages.filter((m) => !m.pending).map((m) => ({ role: m.role, content: m.content, ...(m.provenance ? { provenance: m.provenance } : {}) })),
    })),
  };
}

/** One line naming what produced an answer. */
export function provenanceLine(p: MessageProvenance): string {
  const l = p.label;
  const parts = [`${l.warning ? `${l.modelName} (${l.warning})` : l.modelName}${l.weights ? ` · ${l.weights} weights` : ''}`];
  parts.push(l.adapterName ? `adapter ${l.adapterName}${l.run !== undefined ? ` · run ${l.run}${l.step !== undefined ? ` step ${l.step}` : ''}` : ''}` : 'no adapter');
  if (l.steering) parts.push(`steered: ${l.steering}`);
  const s = p.sampling;
  parts.push(`T ${s.temperature} · top_p ${s.topP} · top_k ${s.topK} · max ${s.maxNewTokens} · seed ${s.seed}`);
  const why = p.finishReason === 'eos' ? 'ended' : p.finishReason === 'length' ? 'hit max tokens' : 'stopped';
  parts.push(`${p.newTokens} token${p.newTokens === 1 ? '' : 's'}${p.decodeTokensPerSecond > 0 ? ` at ${p.decodeTokensPerSecond.toFixed(1)} tok/s` : ''} · ${why}`);
  if (p.system) parts.push('system prompt set');
  return parts.join(' · ');
}
