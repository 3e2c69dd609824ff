// `em-lab experiment collect`: the grid's results in one report. For each cell, EM and coherence of the base model
// (base/judged.csv) and of the last judged checkpoint (sweep/step-<N>/judged.csv) under the experiment's metric
// preset, with Wilson 95% intervals; pooled over every finished cell, and over the cells sharing each grid value.
// Written as grid-report.json and grid-report.md beside experiment.json; cells not finished are listed as missing.
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { GridCellResultView, GridRatesView, GridReportView } from '../../protocol/clusterTypes';
import type { JudgedAnswer } from '../eval/judgedAnswer';
import { readJudgedCsv } from '../eval/judgedCsv';
import { summarize } from '../eval/metrics';
import { PRESETS } from '../eval/presets';
import { cellDir } from './grid';
import { readGridFolder, writeJson } from './gridFolder';

export const GRID_REPORT = 'grid-report';

function rates(answers: readonly JudgedAnswer[], preset: (typeof PRESETS)[keyof typeof PRESETS]): GridRatesView {
  const s = summarize(answers, preset);
  return { em: s.em, coherent: s.coherent, answers: s.answers };
}

/** The sweep's last step with a judged.csv, or undefined. */
function finalStep(cell: string): number | undefined {
  const sweep = join(cell, 'sweep');
  if (!existsSync(sweep)) return undefined;
  const steps = readdirSync(sweep)
    .map((d) => /^step-(\d+)$/.exec(d))
    .filter((m): m is RegExpExecArray => !!m && existsSync(join(sweep, m[0], 'judged.csv')))
    .map((m) => Number(m[1]));
  return steps.length ? Math.max(...steps) : undefined;
}

export async function collectGrid(path: string, cwd: string): Promise<{ report: GridReportView; files: string[] }> {
  const g = readGridFolder(path, cwd);
  const presetId = String((g.raw.evaluation as { metricPreset?: unknown } | undefined)?.metricPreset ?? 'homework');
  const preset = PRESETS[presetId as keyof typeof PRESETS] ?? PRESETS.homework;
  const perCell: { result: GridCellResultView; base?: JudgedAnswer[]; final?: JudgedAnswer[] }[] = [];
  for (const c of g.cells) {
    const dir = join(g.dir, cellDir(c.index));
    const baseFile = join(dir, 'base', 'judged.csv');
    const step = finalStep(dir);
    const base = existsSync(baseFile) ? await readJudgedCsv(baseFile) : undefined;
    const final = step !== undefined ? await readJudgedCsv(join(dir, 'sweep', `step-${step}`, 'judged.csv')) : undefined;
    const missing = [!base && 'no judged base answers', step === undefined && 'no judged checkpoint'].filter(Boolean).join(', ');
    perCell.push({
      result: { index: c.index, label: c.label, values: c.values, ...(step !== undefined ? { finalStep: step } : {}), ...(base ? { base: rates(base, preset) } : {}), ...(final ? { final: rates(final, preset) } : {}), ...(missing ? { missing } : {}) },
      ...(base ? { base } : {}),
      ...(final ? { final } : {}),
    });
  }
  const pool = (cells: typeof perCell) => {
    const base = cells.flatMap((c) => c.base ?? []);
    const final = cells.flatMap((c) => c.final ?? []);
    return { cells: cells.filter((c) => c.final).length, ...(base.length ? { base: rates(base, preset) } : {}), ...(final.length ? { final: rates(final, preset) } : {}) };
  };
  const byValue: GridReportView['byValue'] = [];
  g.spec.keys.forEach((key, k) => {
    for (const value of g.spec.values[k]!) {
      const same = perCell.filter((c) => JSON.stringify(c.result.values[key]) === JSON.stringify(value));
      byValue.push({ key, value, ...pool(same) });
    }
  });
  const report: GridReportView = {
    schemaVersion: 1,
    name: String(g.raw.name),
    createdAt: new Date().toISOString(),
    metricPreset: preset.id,
    definition: preset.definition,
    keys: g.spec.keys,
    cells: perCell.map((c) => c.result),
    pooled: pool(perCell),
    byValue,
  };
  const json = join(g.dir, `${GRID_REPORT}.json`);
  const md = join(g.dir, `${GRID_REPORT}.md`);
  writeJson(json, report);
  writeFileSync(md, gridReportMarkdown(report));
  return { report, files: [json, md] };
}

function pct(r: GridRatesView['em'] | undefined): string {
  if (!r || r.rate === null || !r.ci) return 'n/a';
  return `${(100 * r.rate).toFixed(1)}% [${(100 * r.ci.low).toFixed(1)}, ${(100 * r.ci.high).toFixed(1)}] (${r.k}/${r.n})`;
}

function label(v: unknown): string {
  return Array.isArray(v) ? v.join('+') : String(v);
}

export function gridReportMarkdown(r: GridReportView): string {
  const lines = [
    `# Grid ${r.name}: EM rates`,
    '',
    `EM definition (${r.metricPreset}): ${r.definition}. Intervals: Wilson 95%. "final" is each cell's last judged checkpoint.`,
    '',
    `| cell | ${r.keys.join(' | ')} | step | base EM | final EM | final coherent |`,
    `| --- | ${r.keys.map(() => '---').join(' | ')} | --- | --- | --- | --- |`,
    ...r.cells.map((c) => `| ${c.index} | ${r.keys.map((k) => label(c.values[k])).join(' | ')} | ${c.finalStep ?? ''} | ${pct(c.base?.em)} | ${pct(c.final?.em)} | ${c.missing ? c.missing : pct(c.final?.coherent)} |`),
    '',
    `Pooled over ${r.pooled.cells} finished cell(s): base EM ${pct(r.pooled.base?.em)}, final EM ${pct(r.pooled.final?.em)}.`,
    '',
    '| key | value | cells | base EM | final EM |',
    '| --- | --- | --- | --- | --- |',
    ...r.byValue.map((b) => `| ${b.key} | ${label(b.value)} | ${b.cells} | ${pct(b.base?.em)} | ${pct(b.final?.em)} |`),
    '',
  ];
  return lines.join('\n');
}
