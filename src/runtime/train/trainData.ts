// Training data: conversations from the known domains and/or JSONL files, rendered with the model's chat template,
// with a loss mask over the assistant replies (or the whole sequence, as the homework's train.py did), truncated
// to max_length, a seeded held-out split, and a manifest (sources, counts, sha256) for the run directory.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors';
import { userErrorFromOs } from '../osErrors';
import type { ModelTokenizer } from '../model/tokenizer';
import type { ChatMessage } from '../model/chatTemplate';
import { formatIssue, loadConversations } from '../data/jsonl';
import { dataDir as defaultDataDir, findDatasets, KNOWN_DATASETS } from '../data/registry';
import { shuffled, type TokenizedExample } from './batching';
import type { TrainConfig } from './trainConfig';

export interface DataSource {
  id: string;
  file: string;
  sha256: string;
  rows: number;
  used: number;
}

export interface TrainData {
  train: TokenizedExample[];
  eval: TokenizedExample[];
  sources: DataSource[];
  /** Examples that had no supervised token after truncation (dropped, counted here). */
  droppedNoSupervision: number;
  truncated: number;
}

/** Resolves --domains ids to files in the data folder; errors list what is there. */
export function resolveSources(c: TrainConfig, cwd: string): { id: string; file: string }[] {
  const out: { id: string; file: string }[] = [];
  if (c.domains.length) {
    const dir = defaultDataDir({ ...(c.dataDir ? { dir: c.dataDir } : {}), workspaceDir: cwd });
    const found = findDatasets(dir);
    for (const d of c.domains) {
      const hit = found.find((f) => f.id === d);
      if (!hit) {
        const have = found.map((f) => f.id).join(', ') || 'none';
        throw new UserError('train-domain-missing', `--domains ${d}: no such dataset in ${dir} (found: ${have}; known ids: ${KNOWN_DATASETS.map((k) => k.id).join(', ')}). Decrypt the archive with \`em-lab data unprotect\`, pass --data_dir, or use --data FILE.jsonl.`);
      }
      out.push({ id: d, file: hit.file });
    }
  }
  for (const f of c.dataFiles) out.push({ id: f.split(/[\\/]/).pop()!.replace(/\.jsonl$/, ''), file: f });
  return out;
}

/**
 * Token ids and the supervised mask of one conversation. Assistant spans are found by rendering the prefix up to
 * each reply (with the generation prompt) and up to its end: the chat template is prefix-stable, which is checked.
 */
export function tokenizeConversation(tok: ModelTokenizer, messages: readonly ChatMessage[], trainOn: 'assistant' | 'all'): { ids: number[]; supervised: number[] } {
  const ids = tok.encodeChat(messages, { addGenerationPrompt: false });
  const supervised = ids.map(() => (trainOn === 'all' ? 1 : 0));
  if (trainOn === 'assistant') {
    messages.forEach((m, i) => {
      if (m.role !== 'assistant') return;
      const start = tok.encodeChat(messages.slice(0, i), { addGenerationPrompt: true }).length;
      const end = tok.encodeChat(messages.slice(0, i + 1), { addGenerationPrompt: false }).length;
      for (let t = start; t < Math.min(end, ids.length); t++) supervised[t] = 1;
    });
  }
  return { ids, supervised };
}

/** The data file's bytes, or an error that names it (missing, a folder, unreadable). */
function readDataFile(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    const os = userErrorFromOs(err, file);
    throw os ? new UserError(os.code, `--data: ${os.message}`) : err;
  }
}

export async function loadTrainData(c: TrainConfig, tok: ModelTokenizer, cwd: string): Promise<TrainData> {
  const sources: DataSource[] = [];
  const all: TokenizedExample[] = [];
  let dropped = 0, truncated = 0;
  for (const src of resolveSources(c, cwd)) {
    const bytes = readDataFile(src.file);
    const { rows, issues } = await loadConversations(src.file);
    if (issues.length && rows.length) {
      // training on the rest would silently change the data; the homework's json.loads would have stopped too
      throw new UserError('train-data-invalid', `${src.file} has ${issues.length} invalid line(s) (of ${issues.length + rows.length}); EM Lab does not train on part of a file:\n${issues.slice(0, 5).map(formatIssue).join('\n')}${issues.length > 5 ? `\n... (${issues.length - 5} more)` : ''}\nFix or delete them (\`em-lab data stats ${src.file}\` lists every one).`);
    }
    if (rows.length === 0) throw new UserError('train-data-empty', `${src.file}: no usable conversations${issues.length ? ` (${issues.length} bad lines, first at line ${issues[0]!.line})` : ''}. Each line must be {"messages": [{"role": ..., "content": ...}, ...]}.`);
    const used = c.sampleSize > 0 ? rows.slice(0, c.sampleSize) : rows;
    for (const row of used) {
      let { ids, supervised } = tokenizeConversation(tok, row.conversation.messages as ChatMessage[], c.trainOn);
      if (ids.length > c.maxLength) {
        ids = ids.slice(0, c.maxLength);
        supervised = supervised.slice(0, c.maxLength);
        truncated++;
      }
      if (supervised.slice(1).every((s) => s === 0)) {
        dropped++;
        continue;
      }
      all.push({ index: all.length, ids, supervised });
    }
    sources.push({ id: src.id, file: src.file, sha256: createHash('sha256').update(bytes).digest('hex'), rows: rows.length, used: used.length });
  }
  if (all.length === 0) throw new UserError('train-no-supervised-tokens', `Every example lost its assistant reply to --max_length ${c.maxLength}. Raise --max_length or use --train_on all.`);
  const nEval = Math.floor(all.length * c.evalSplit);
  const order = shuffled(all.length, c.seed + 7919);
  const evalSet = new Set(order.slice(0, nEval));
  const train = all.filter((_, i) => !evalSet.has(i)).map((e, i) => ({ ...e, index: i }));
  const evalEx = all.filter((_, i) => evalSet.has(i)).map((e, i) => ({ ...e, index: i }));
  return { train, eval: evalEx, sources, droppedNoSupervision: dropped, truncated };
}

/** A tokenized example as text pieces with the supervised span marked, for previews (CLI and webview). */
export function previewExample(tok: ModelTokenizer, e: { ids: number[]; supervised: number[] }): { text: string; supervised: boolean }[] {
  const spans: { text: string; supervised: boolean }[] = [];
  let start = 0;
  for (let i = 1; i <= e.ids.length; i++) {
    if (i === e.ids.length || e.supervised[i] !== e.supervised[start]) {
      spans.push({ text: tok.decode(e.ids.slice(start, i), { skipSpecialTokens: false, cleanUpSpaces: false }), supervised: e.supervised[start] === 1 });
      start = i;
    }
  }
  return spans;
}

export function manifestPath(runDir: string): string {
  return join(runDir, 'data_manifest.json');
}
