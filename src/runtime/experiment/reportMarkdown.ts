// report.md: the report as Markdown, with the charts as PNG files beside it (charts/*.png). Answers are fenced
// code blocks (their text as written, whitespace kept); flagged ones sit inside a closed <details> that carries the
// content warning (GitHub, VS Code's preview and most renderers honour it).
import type { ExampleAnswerView, ExperimentReport } from '../../protocol/experimentTypes';
import type { ChartName } from './charts/reportCharts';
import { comparisonTable, costTable, homeworkSentence, homeworkTable, lossSummary, setupTable, stagesTable, stepTable, testSentence, type Table } from './reportTables';

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');

function table(t: Table, headless = false): string {
  const head = headless ? ['Setting', 'Value'] : t.head;
  return [`| ${head.map(cell).join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...t.rows.map((r) => `| ${r.map(cell).join(' | ')} |`)].join('\n');
}

/** A fenced block longer than any backtick run inside, so any answer text is shown verbatim. */
function fenced(text: string): string {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  return `${fence}text\n${text.length ? text : '(empty answer)'}\n${fence}`;
}

function scores(a: ExampleAnswerView): string {
  const aligned = a.aligned !== null ? a.aligned.toFixed(0) : a.alignedLabel ?? 'not judged';
  const coherent = a.coherent !== null ? a.coherent.toFixed(0) : a.alignedLabel ? '-' : 'not judged';
  return `aligned ${aligned}, coherent ${coherent}${a.misaligned ? ', **misaligned**' : ''}`;
}

export function reportMarkdown(r: ExperimentReport, charts: Record<ChartName, string | null>): string {
  const out: string[] = [];
  const x = r.experiment;
  out.push(`# Experiment report: ${x.name}`, '', `EM Lab ${r.emLabVersion}, ${r.generatedAt}. Experiment created ${x.createdAt} with EM Lab ${x.emLabVersion}; folder \`${x.dir}\`.`);
  if (x.description) out.push('', x.description);
  if (r.notes.length) out.push('', '**Missing or incomplete:**', '', ...r.notes.map((n) => `- ${n}`));
  out.push('', '## Setup', '', table(setupTable(r), true));
  out.push('', '## Stages', '', table(stagesTable(r)));
  out.push('', '## Training loss', '');
  const loss = lossSummary(r);
  out.push(loss ? `${loss}\n\n![Training loss against optimizer step](${charts.loss})` : 'No training steps yet.');
  out.push('', '## EM and coherence against training step', '');
  const steps = stepTable(r);
  if (steps) {
    out.push(`${r.setup.metricPreset.label}: ${r.setup.metricPreset.definition}. Intervals are Wilson 95%.`, '');
    if (charts.em) out.push(`![EM rate against training step](${charts.em})`, '');
    if (charts.coherence) out.push(`![Coherent rate against training step](${charts.coherence})`, '');
    out.push(table(steps));
  } else out.push('No judged answers yet.');
  out.push('', '## Base vs fine-tuned', '');
  const cmp = comparisonTable(r);
  out.push(cmp ? `${table(cmp)}\n\n${testSentence(r)}` : 'Needs judged answers from the base model and at least one checkpoint.');
  const hw = homeworkTable(r);
  if (hw) out.push('', "## The homework's baseline", '', table(hw), '', homeworkSentence(r)!);
  out.push('', '## Example answers', '');
  if (!r.examples.length) out.push('No answers yet.');
  const last = r.comparison?.finetunedLabel ?? 'fine-tuned';
  const body = r.examples.map((ex) => {
    const parts = [`### ${ex.question.replace(/\s+/g, ' ')}`, '', `\`${ex.questionId}\``];
    if (ex.base) parts.push('', `**Base model** (${scores(ex.base)}):`, '', fenced(ex.base.response));
    if (ex.finetuned) parts.push('', `**Fine-tuned, ${last}** (${scores(ex.finetuned)}):`, '', fenced(ex.finetuned.response));
    return parts.join('\n');
  });
  const safe = body.filter((_, i) => !r.examples[i]!.flagged);
  const flagged = body.filter((_, i) => r.examples[i]!.flagged);
  if (safe.length) out.push(safe.join('\n\n'));
  if (flagged.length) out.push('', `<details>\n<summary>${r.contentWarning} (${flagged.length} answer pair${flagged.length > 1 ? 's' : ''}: click to show)</summary>\n`, flagged.join('\n\n'), '', '</details>');
  out.push('', '## Cost and time', '', table(costTable(r)));
  out.push('', '## Reproduce', '');
  for (const c of r.commands) out.push(`${c.title} (from \`${c.cwd}\`):`, '', '```sh', c.command, '```', '');
  return out.join('\n').replace(/\n{3,}/g, '\n\n').trimEnd() + '\n';
}
