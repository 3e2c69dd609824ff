// report.html: one self-contained file (styles inline, charts as PNG data URLs, no script, no external request),
// to open in any browser or attach to a write-up. Answers keep their whitespace (pre-wrap), with leading and
// trailing blank lines shown as a visible mark rather than an empty block; flagged answers sit in a closed
// <details> whose summary is the content warning.
import type { ExampleAnswerView, ExperimentReport } from '../../protocol/experimentTypes';
import type { ChartName } from './charts/reportCharts';
import { comparisonTable, costTable, homeworkSentence, homeworkTable, lossSummary, setupTable, stagesTable, stepTable, testSentence, type Table } from './reportTables';

export const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A cell's text; durations ("11.0 s", "2 min 5 s") never break across lines. */
const cellText = (c: string): string => (/^\d+(\.\d+)? s$|^\d+ (min|h) \d+ (s|min)$/.test(c) ? esc(c).replace(/ /g, '&nbsp;') : esc(c));

function table(t: Table, headless = false): string {
  const head = headless ? '' : `<thead><tr>${t.head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead>`;
  return `<table>${head}<tbody>${t.rows.map((r) => `<tr>${r.map((c, i) => (headless && i === 0 ? `<th scope="row">${esc(c)}</th>` : `<td>${cellText(c)}</td>`)).join('')}</tr>`).join('')}</tbody></table>`;
}

/** The answer as text; blank lines at either end are shown as "(blank line)" marks instead of an empty block. */
function answerText(text: string): string {
  if (!text.trim()) return '<span class="mark">(empty answer)</span>';
  const lead = /^(?:[ \t]*\r?\n)+/.exec(text)?.[0] ?? '';
  const trail = /(?:\r?\n[ \t]*)+$/.exec(text)?.[0] ?? '';
  const lines = (s: string) => s.split('\n').length - 1;
  const mark = (n: number) => (n ? `<span class="mark">${'↵'.repeat(n)}</span>` : '');
  return `${mark(lines(lead))}${esc(text.slice(lead.length, text.length - trail.length))}${mark(lines(trail))}`;
}

function answer(title: string, a: ExampleAnswerView): string {
  const aligned = a.aligned !== null ? a.aligned.toFixed(0) : a.alignedLabel ?? 'not judged';
  const coherent = a.coherent !== null ? a.coherent.toFixed(0) : a.alignedLabel ? '-' : 'not judged';
  return `<div class="answer${a.misaligned ? ' misaligned' : ''}"><div class="who">${esc(title)} <span class="score">aligned ${esc(aligned)}, coherent ${esc(coherent)}${a.misaligned ? ', misaligned' : ''}</span></div><div class="text">${answerText(a.response)}</div></div>`;
}

const STYLE = `
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f1f1f; background: #fff; max-width: 1000px; margin: 2rem auto; padding: 0 1rem; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.25rem; margin-top: 2rem; border-bottom: 1px solid #ddd; padding-bottom: .2rem; } h3 { font-size: 1rem; }
table { border-collapse: collapse; margin: .5rem 0; width: 100%; } th, td { border: 1px solid #ddd; padding: .3rem .5rem; text-align: left; vertical-align: top; }
thead th, tbody th { background: #f4f4f4; font-weight: 600; } tbody th { width: 14rem; }
img { max-width: 100%; height: auto; border: 1px solid #eee; margin: .5rem 0; }
.meta, .note { color: #555; } .notes { background: #fff8e1; border: 1px solid #f0d98c; padding: .5rem 1rem; }
.answer { border-left: 3px solid #9ab; padding: .2rem .7rem; margin: .4rem 0; } .answer.misaligned { border-left-color: #d62728; }
.who { font-weight: 600; } .score { font-weight: 400; color: #555; }
.text { white-space: pre-wrap; font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 13px; overflow-wrap: anywhere; }
.mark { color: #888; }
details { border: 1px solid #d62728; padding: .5rem 1rem; margin: 1rem 0; } summary { cursor: pointer; font-weight: 600; color: #a01c1d; }
pre.cmd { background: #f4f4f4; padding: .6rem; overflow-x: auto; white-space: pre-wrap; overflow-wrap: anywhere; }
@media (prefers-color-scheme: dark) { body { color: #ddd; background: #1e1e1e; } thead th, tbody th, pre.cmd { background: #2a2a2a; } th, td { border-color: #444; } .notes { background: #3a3320; border-color: #6b5a2a; } .score, .meta, .note { color: #aaa; } }
`;

export function reportHtml(r: ExperimentReport, charts: Record<ChartName, Buffer | null>): string {
  const img = (name: ChartName, alt: string) => (charts[name] ? `<img alt="${esc(alt)}" src="data:image/png;base64,${charts[name]!.toString('base64')}">` : '');
  const x = r.experiment;
  const parts: string[] = [];
  parts.push(`<h1>Experiment report: ${esc(x.name)}</h1>`, `<p class="meta">EM Lab ${esc(r.emLabVersion)}, ${esc(r.generatedAt)}. Experiment created ${esc(x.createdAt)} with EM Lab ${esc(x.emLabVersion)}; folder <code>${esc(x.dir)}</code>.</p>`);
  if (x.description) parts.push(`<p>${esc(x.description)}</p>`);
  if (r.notes.length) parts.push(`<div class="notes"><p><strong>Missing or incomplete:</strong></p><ul>${r.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul></div>`);
  parts.push('<h2>Setup</h2>', table(setupTable(r), true), '<h2>Stages</h2>', table(stagesTable(r)));
  const loss = lossSummary(r);
  parts.push('<h2>Training loss</h2>', loss ? `<p>${esc(loss)}</p>${img('loss', 'Training loss against optimizer step')}` : '<p class="note">No training steps yet.</p>');
  parts.push('<h2>EM and coherence against training step</h2>');
  const steps = stepTable(r);
  parts.push(steps ? `<p>${esc(`${r.setup.metricPreset.label}: ${r.setup.metricPreset.definition}. Intervals are Wilson 95%.`)}</p>${img('em', 'EM rate against training step')}${img('coherence', 'Coherent rate against training step')}${table(steps)}` : '<p class="note">No judged answers yet.</p>');
  const cmp = comparisonTable(r);
  parts.push('<h2>Base vs fine-tuned</h2>', cmp ? `${table(cmp)}<p>${esc(testSentence(r)!)}</p>` : '<p class="note">Needs judged answers from the base model and at least one checkpoint.</p>');
  const hw = homeworkTable(r);
  if (hw) parts.push("<h2>The homework's baseline</h2>", table(hw), `<p>${esc(homeworkSentence(r)!)}</p>`);
  parts.push('<h2>Example answers</h2>');
  if (!r.examples.length) parts.push('<p class="note">No answers yet.</p>');
  const last = r.comparison?.finetunedLabel ?? 'fine-tuned';
  const block = (ex: ExperimentReport['examples'][number]) =>
    `<h3>${esc(ex.question)}</h3><p class="meta"><code>${esc(ex.questionId)}</code></p>${ex.base ? answer('Base model', ex.base) : ''}${ex.finetuned ? answer(`Fine-tuned, ${last}`, ex.finetuned) : ''}`;
  const safe = r.examples.filter((e) => !e.flagged);
  const flagged = r.examples.filter((e) => e.flagged);
  parts.push(...safe.map(block));
  if (flagged.length) parts.push(`<details><summary>${esc(r.contentWarning ?? '')} (${flagged.length} answer pair${flagged.length > 1 ? 's' : ''}: click to show)</summary>${flagged.map(block).join('')}</details>`);
  parts.push('<h2>Cost and time</h2>', table(costTable(r)), '<h2>Reproduce</h2>');
  for (const c of r.commands) parts.push(`<p>${esc(c.title)} (from <code>${esc(c.cwd)}</code>):</p><pre class="cmd">${esc(c.command)}</pre>`);
  return `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>EM Lab report: ${esc(x.name)}</title><style>${STYLE}</style></head><body>\n${parts.join('\n')}\n</body></html>\n`;
}
