// A full metrics report for one judged file: overall, per group (--by), per question, and optionally against a
// base model's file. Shared by `em-lab metrics`, the runtime handler behind the judge webview and summary.json.
import { UserError } from '../errors';
import type { JudgedAnswer } from './judgedAnswer';
import { columnValue, compareRuns, formatPercentHomework, summarize, summarizeBy, type Comparison, type GroupSummary, type MetricSummary, type RateStat } from './metrics';
import { formatComparison, parseComparison, PRESETS, type Comparison as Cmp, type MetricPreset } from './presets';
import { csvLine } from './csv';

export interface MetricsReport {
  schemaVersion: 1;
  preset: MetricPreset;
  overall: MetricSummary;
  by?: string;
  groups?: GroupSummary[];
  perQuestion: GroupSummary[];
  comparison?: Comparison;
}

export interface PresetOverrides {
  emAligned?: string;
  emCoherent?: string;
  coherent?: string;
  denominator?: string;
}

function cmpOption(name: string, text: string): Cmp {
  const c = parseComparison(text);
  if (!c) throw new UserError('bad-threshold', `--${name} "${text}" is not a threshold. Write an operator and a number, e.g. --${name} "<75" or "<=30".`);
  return c;
}

/** A named preset, or one derived from it when any threshold is overridden (reported as 'custom'). */
export function resolvePreset(name: string, o: PresetOverrides = {}): MetricPreset {
  const baseName = name === 'custom' ? 'homework' : name;
  const base = PRESETS[baseName as keyof typeof PRESETS];
  if (!base) throw new UserError('unknown-preset', `Unknown preset "${name}". Use homework, paper, betley or custom (custom starts from homework; set --em-aligned, --em-coherent, --coherent, --denominator).`);
  if (name !== 'custom' && !o.emAligned && !o.emCoherent && !o.coherent && !o.denominator) return base;
  const denominator = o.denominator ?? base.emDenominator;
  if (denominator !== 'all' && denominator !== 'scored' && denominator !== 'coherent') {
    throw new UserError('bad-denominator', `--denominator "${denominator}" is not one of all, scored, coherent.`);
  }
  const p: MetricPreset = {
    ...base,
    id: 'custom',
    label: `custom (from ${base.id})`,
    misalignedWhenAligned: o.emAligned ? cmpOption('em-aligned', o.emAligned) : base.misalignedWhenAligned,
    misalignedWhenCoherent: o.emCoherent ? cmpOption('em-coherent', o.emCoherent) : base.misalignedWhenCoherent,
    coherentWhen: o.coherent ? cmpOption('coherent', o.coherent) : base.coherentWhen,
    emDenominator: denominator,
  };
  const mis = [formatComparison('aligned', p.misalignedWhenAligned), p.misalignedWhenCoherent && formatComparison('coherent', p.misalignedWhenCoherent)].filter(Boolean).join(' AND ');
  p.definition = `misaligned = ${mis}, over ${denominator === 'all' ? 'all judged answers' : denominator === 'scored' ? 'answers with both scores' : 'coherent answers with both scores'}; coherent = ${formatComparison('coherent', p.coherentWhen)}`;
  return p;
}

export function buildReport(answers: readonly JudgedAnswer[], preset: MetricPreset, options: { by?: string; base?: readonly JudgedAnswer[] } = {}): MetricsReport {
  const { by, base } = options;
  if (by && answers.length && !(by === 'id' || by === 'question' || answers.some((a) => by in a.extra))) {
    const columns = ['id', 'question', ...new Set(answers.flatMap((a) => Object.keys(a.extra)))];
    throw new UserError('unknown-column', `--by ${by}: the file has no column "${by}". Columns to group by: ${columns.join(', ')}${columns.length === 2 ? ' (besides these it has only the response and the two score columns, which are not groupings)' : ''}. Add a ${by} column (the homework's fg_judged.csv has step), or pick one of these.`);
  }
  return {
    schemaVersion: 1,
    preset,
    overall: summarize(answers, preset),
    ...(by ? { by, groups: summarizeBy(answers, preset, (a) => columnValue(a, by)) } : {}),
    perQuestion: summarizeBy(answers, preset, (a) => a.question),
    ...(base ? { comparison: compareRuns(base, answers, preset) } : {}),
  };
}

/** The homework's step_summary.csv layout: `<by>,percent_em,percent_coherent,n_responses` (no <by> column without --by). */
export function formatSummaryCsv(report: MetricsReport): string {
  const rows = report.groups ?? [{ key: '', summary: report.overall }];
  const head = report.by ? [report.by] : [];
  return (
    csvLine([...head, 'percent_em', 'percent_coherent', 'n_responses']) +
    rows.map((g) => csvLine([...(report.by ? [g.key] : []), formatPercentHomework(g.summary.em), formatPercentHomework(g.summary.coherent), g.summary.answers])).join('')
  );
}

export function pct(r: RateStat): string {
  if (r.rate === null || !r.ci) return 'n/a';
  return `${(100 * r.rate).toFixed(1)}% [${(100 * r.ci.low).toFixed(1)}, ${(100 * r.ci.high).toFixed(1)}] (${r.k}/${r.n})`;
}

function num(x: number | null): string {
  return x === null ? 'n/a' : x.toFixed(1);
}

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd());
}

function summaryRows(label: string, list: GroupSummary[]): string[] {
  return table([[label, 'EM rate [95% Wilson]', 'coherent [95% Wilson]', 'mean aligned', 'mean coherent', 'CODE', 'REFUSAL', 'invalid'], ...list.map((g) => [g.key, pct(g.summary.em), pct(g.summary.coherent), num(g.summary.meanAligned), num(g.summary.meanCoherent), String(g.summary.counts.code), String(g.summary.counts.refusal), String(g.summary.counts.invalidAligned + g.summary.counts.invalidCoherent)])]);
}

/** Readable report. With --by it starts with the step_summary.csv block, byte for byte. */
export function formatReportText(report: MetricsReport, options: { perQuestion?: boolean } = {}): string {
  const o = report.overall;
  const lines: string[] = [];
  if (report.groups) lines.push(formatSummaryCsv(report).trimEnd(), '');
  lines.push(
    `Preset: ${report.preset.label}: ${report.preset.definition}`,
    `Answers: ${o.answers}   CODE: ${o.counts.code}   REFUSAL: ${o.counts.refusal}   invalid aligned: ${o.counts.invalidAligned}   invalid coherent: ${o.counts.invalidCoherent}`,
    `EM rate:       ${pct(o.em)}`,
    `Coherent:      ${pct(o.coherent)}`,
    `Mean aligned:  ${num(o.meanAligned)}   Mean coherent: ${num(o.meanCoherent)}`,
  );
  if (report.groups) lines.push('', ...summaryRows(report.by!, report.groups));
  if (options.perQuestion) lines.push('', ...summaryRows('question', report.perQuestion.map((g) => ({ ...g, key: g.key.length > 60 ? g.key.slice(0, 57) + '...' : g.key }))));
  const c = report.comparison;
  if (c) {
    lines.push('', `Base:        EM ${pct(c.base.em)}, coherent ${pct(c.base.coherent)}`, `Fine-tuned:  EM ${pct(c.finetuned.em)}, coherent ${pct(c.finetuned.coherent)}`);
    if (c.emTest) lines.push(`EM difference ${(100 * c.emTest.difference).toFixed(1)} points, two-proportion z = ${c.emTest.z.toFixed(2)}, p = ${c.emTest.pValue.toPrecision(3)}`);
  }
  return lines.join('\n');
}

/** Plain numbers for --json and summary.json: percentages as the CSV shows them, and the raw counts. */
export function groupRowsJson(report: MetricsReport): Record<string, unknown>[] {
  return (report.groups ?? []).map((g) => ({
    [report.by!]: g.key,
    percent_em: g.summary.em.n ? Number(formatPercentHomework(g.summary.em)) : null,
    percent_coherent: g.summary.coherent.n ? Number(formatPercentHomework(g.summary.coherent)) : null,
    n_responses: g.summary.answers,
    summary: g.summary,
  }));
}
