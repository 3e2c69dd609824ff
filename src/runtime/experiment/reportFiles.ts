// Writes the report: report.json (the data), charts/*.png, report.md and report.html, under <experiment>/report/
// (the report stage) or any folder (experiment/export, `em-lab experiment report --out`).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ExperimentReport } from '../../protocol/experimentTypes';
import type { LoadedExperiment } from './experimentFile';
import { buildExperimentReport } from './report';
import { reportCharts, type ChartName } from './charts/reportCharts';
import { reportMarkdown } from './reportMarkdown';
import { reportHtml } from './reportHtml';

export type ReportFormat = 'json' | 'html' | 'markdown';

/** Writes the chosen formats into outDir and returns the files written. */
export function exportReport(report: ExperimentReport, outDir: string, formats: readonly ReportFormat[] = ['json', 'html', 'markdown']): string[] {
  mkdirSync(outDir, { recursive: true });
  const files: string[] = [];
  const write = (name: string, content: string | Buffer) => {
    const path = join(outDir, name);
    writeFileSync(path, content);
    files.push(path);
  };
  if (formats.includes('json')) write('report.json', JSON.stringify(report, null, 2) + '\n');
  if (!formats.includes('html') && !formats.includes('markdown')) return files;
  const charts = reportCharts(report);
  if (formats.includes('markdown')) {
    mkdirSync(join(outDir, 'charts'), { recursive: true });
    const paths = {} as Record<ChartName, string | null>;
    for (const [name, png] of Object.entries(charts) as [ChartName, Buffer | null][]) {
      paths[name] = png ? `charts/${name}.png` : null;
      if (png) write(`charts/${name}.png`, png);
    }
    write('report.md', reportMarkdown(report, paths));
  }
  if (formats.includes('html')) write('report.html', reportHtml(report, charts));
  return files;
}

/** The report stage: every format under <experiment>/report/. */
export async function writeReport(e: LoadedExperiment): Promise<string[]> {
  return exportReport(await buildExperimentReport(e), join(e.dir, 'report'));
}
