// A chat sandbox conversation as Markdown or JSON, with every assistant message's provenance (model, adapter,
// checkpoint, sampling) so an exported answer can be reproduced. Pure functions: no vscode, tested in test/unit.
import type { MessageProvenance, Transcript, TranscriptMessage } from '../../protocol/chatMethods';

export function transcriptToJson(t: Transcript): string {
  return JSON.stringify(t, null, 2) + '\n';
}

export function transcriptToMarkdown(t: Transcript): string {
  const lines: string[] = [`# EM Lab chat sandbox`, '', `Exported ${t.exportedAt}.`, ''];
  if (t.system) lines.push('**System prompt:**', '', fenced(t.system), '');
  for (const pane of t.panes) {
    lines.push(`## ${t.panes.length > 1 ? `${pane.pane === 'left' ? 'Left' : 'Right'} pane: ` : ''}${pane.title}`, '');
    if (pane.messages.length === 0) lines.push('_(no messages)_', '');
    for (const m of pane.messages) lines.push(...messageLines(m), '');
  }
  return lines.join('\n');
}

function messageLines(m: TranscriptMessage): string[] {
  const who = m.role === 'user' ? '**User**' : m.role === 'assistant' ? '**Assistant**' : '**System**';
  const p = m.provenance;
  const folders = p ? `_model folder \`${p.label.modelDir}\`${p.label.adapterDir ? `, adapter folder \`${p.label.adapterDir}\`` : ''}${p.system ? ', with the system prompt above' : ''}_` : undefined;
  const out = [p ? `${who} — ${provenanceText(p)}` : who, ...(folders ? ['', folders] : []), '', fenced(m.content)];
  return out;
}

/** One line naming exactly what produced an answer; also used under each message in the sandbox. */
export function provenanceText(p: MessageProvenance): string {
  const l = p.label;
  const parts = [l.warning ? `${l.modelName} (${l.warning})` : l.modelName];
  if (l.adapterName) parts.push(`adapter ${l.adapterName}${l.run !== undefined ? ` (run ${l.run}${l.step !== undefined ? `, step ${l.step}` : ''})` : ''}`);
  else parts.push('no adapter');
  if (l.steering) parts.push(`steered: ${l.steering}`);
  const s = p.sampling;
  parts.push(`temperature ${s.temperature}, top_p ${s.topP}, top_k ${s.topK}, max_new_tokens ${s.maxNewTokens}, seed ${s.seed}`);
  parts.push(`${p.newTokens} token${p.newTokens === 1 ? '' : 's'}, ${finishText(p.finishReason)}`);
  return parts.join(' · ');
}

function finishText(r: MessageProvenance['finishReason']): string {
  return r === 'eos' ? 'ended by the model' : r === 'length' ? 'hit max_new_tokens' : 'stopped by the user';
}

/** A fenced block whose fence is longer than any backtick run inside, so model output cannot break out of it. */
function fenced(text: string): string {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  return `${fence}text\n${text}\n${fence}`;
}
