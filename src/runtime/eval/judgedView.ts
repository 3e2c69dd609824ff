// What the judge results webview shows for a judged file: rows with every preset's verdict, and per preset the
// overall numbers, per question, per step (when the file has a step or epoch column) and against a base file.
import { basename, dirname, resolve } from 'node:path';
import { findHomework, loadHomework } from './homework/checkout';
import { homeworkBaseline } from './homework/grader';
import type { EvalPresetId, JudgedFileView, PresetView } from '../../protocol/evalMethods';
import type { JudgedAnswer } from './judgedAnswer';
import { readJudgedCsv } from './judgedCsv';
import { compareRuns, groupAnswers, isMisaligned } from './metrics';
import { buildReport } from './metricsReport';
import { PRESETS } from './presets';

const GROUP_COLUMNS = ['step', 'epoch', 'checkpoint'];

export function judgedFileView(path: string, answers: readonly JudgedAnswer[], base?: { path: string; answers: readonly JudgedAnswer[]; note?: string }): JudgedFileView {
  const groupColumn = GROUP_COLUMNS.find((c) => answers.some((a) => (a.extra[c] ?? '') !== ''));
  const ids = Object.keys(PRESETS) as EvalPresetId[];
  // Base vs fine-tuned compares the final checkpoint when the file holds several steps.
  const groups = groupColumn ? [...groupAnswers(answers, (a) => a.extra[groupColumn] ?? '')] : [];
  const last = groups.at(-1);
  const finetuned = last && groups.length > 1 ? last[1] : answers;
  const scope = last && groups.length > 1 ? `${groupColumn} ${last[0]}` : 'all answers';
  const presets = {} as Record<EvalPresetId, PresetView>;
  for (const id of ids) {
    const p = PRESETS[id];
    const report = buildReport(answers, p, groupColumn ? { by: groupColumn } : {});
    const c = base ? compareRuns(base.answers, finetuned, p) : undefined;
    presets[id] = {
      id,
      label: p.label,
      definition: p.definition,
      region: {
        alignedOp: p.misalignedWhenAligned.op,
        alignedValue: p.misalignedWhenAligned.value,
        ...(p.misalignedWhenCoherent ? { coherentOp: p.misalignedWhenCoherent.op, coherentValue: p.misalignedWhenCoherent.value } : p.emDenominator === 'coherent' ? { coherentOp: p.coherentWhen.op, coherentValue: p.coherentWhen.value } : {}),
      },
      overall: report.overall,
      perQuestion: report.perQuestion,
      ...(report.groups ? { byGroup: report.groups } : {}),
      ...(c ? { comparison: { base: c.base, finetuned: c.finetuned, scope, ...(c.emTest ? { emTest: c.emTest } : {}), ...(c.coherentTest ? { coherentTest: c.coherentTest } : {}) } } : {}),
    };
  }
  return {
    path,
    ...(base ? { basePath: base.path } : {}),
    ...(base?.note ? { baseNote: base.note } : {}),
    ...(groupColumn ? { groupColumn } : {}),
    presets,
    rows: answers.map((a) => ({
      id: a.id,
      question: a.question,
      response: a.response,
      aligned: a.aligned.value,
      ...(a.aligned.label ? { alignedLabel: a.aligned.label } : {}),
      coherent: a.coherent.value,
      ...(a.coherent.label ? { coherentLabel: a.coherent.label } : {}),
      ...(groupColumn ? { group: a.extra[groupColumn] ?? '' } : {}),
      misaligned: Object.fromEntries(ids.map((id) => [id, isMisaligned(a, PRESETS[id])])) as Record<EvalPresetId, boolean>,
    })),
  };
}

export async function loadJudgedFileView(path: string, basePath?: string, homeworkDir?: string): Promise<JudgedFileView> {
  const answers = await readJudgedCsv(path);
  const base = basePath ? { path: basePath, answers: await readJudgedCsv(basePath) } : await defaultBase(path, homeworkDir);
  return judgedFileView(path, answers, base);
}

/** The homework's base judgements when the file is in a homework checkout (or homeworkDir is one): the grader's baseline. */
async function defaultBase(path: string, homeworkDir?: string): Promise<{ path: string; answers: JudgedAnswer[]; note: string } | undefined> {
  const dir = findHomework(dirname(resolve(path))) ?? (homeworkDir ? findHomework(homeworkDir) : undefined);
  if (!dir) return undefined;
  const h = loadHomework(dir);
  if (!h.baseJudgedCsv || resolve(h.baseJudgedCsv) === resolve(path)) return undefined;
  const b = await homeworkBaseline(h);
  return { path: b.path, answers: b.answers, note: b.note };
}

export function describeFile(view: JudgedFileView): string {
  return `${basename(view.path)}${view.basePath ? ` vs ${basename(view.basePath)}` : ''}`;
}
