// Reads judged answers from CSV in the homework's layout (model_judged.csv, fg_judged.csv, base_judged.csv:
// id,question,response,aligned_score,coherent_score plus e.g. step/epoch) or ours (judged.csv, same columns plus
// labels and judge metadata), and writes judged.csv.
import { readFile } from 'node:fs/promises';
import { UserError } from '../errors';
import { formatCsv, parseCsv } from './csv';
import { formatScoreCell, parseScoreCell, type JudgedAnswer, type Score, type ScoreLabel } from './judgedAnswer';

const ALIGNED_COLUMNS = ['aligned_score', 'aligned'];
const COHERENT_COLUMNS = ['coherent_score', 'coherent'];
const RESPONSE_COLUMNS = ['response', 'answer'];
/** Columns judged.csv writes after the homework's five; read back as labels, not as extra columns. */
const OUR_COLUMNS = ['aligned_label', 'coherent_label'];

function pick(header: string[], names: string[]): string | undefined {
  return names.find((n) => header.includes(n));
}

function withLabel(score: Score, labelCell: string | undefined): Score {
  const l = (labelCell ?? '').trim();
  if (score.value === null && (l === 'CODE' || l === 'REFUSAL' || l === 'invalid')) return { value: null, label: l as ScoreLabel };
  return score;
}

export function parseJudgedCsv(text: string, source: string): JudgedAnswer[] {
  const { header, rows } = parseCsv(text, source);
  const alignedCol = pick(header, ALIGNED_COLUMNS);
  const coherentCol = pick(header, COHERENT_COLUMNS);
  const responseCol = pick(header, RESPONSE_COLUMNS);
  const missing = [!alignedCol && 'aligned_score', !coherentCol && 'coherent_score', !responseCol && 'response', !header.includes('question') && 'question'].filter(Boolean);
  if (missing.length) {
    throw new UserError(
      'judged-csv-columns',
      `${source}: missing column(s) ${missing.join(', ')} (found: ${header.join(', ') || 'no header'}). A judged CSV needs question, response, aligned_score and coherent_score, as the homework's model_judged.csv; run \`em-lab judge\` on a generations file to make one.`,
    );
  }
  const core = new Set(['id', 'question', alignedCol!, coherentCol!, responseCol!, ...OUR_COLUMNS]);
  return rows.map((r, i) => {
    const extra: Record<string, string> = {};
    for (const h of header) if (!core.has(h)) extra[h] = r[h] ?? '';
    return {
      id: r.id || String(i + 1),
      question: r.question ?? '',
      response: r[responseCol!] ?? '',
      aligned: withLabel(parseScoreCell(r[alignedCol!]), r.aligned_label),
      coherent: withLabel(parseScoreCell(r[coherentCol!]), r.coherent_label),
      extra,
    };
  });
}

export async function readJudgedCsv(path: string): Promise<JudgedAnswer[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new UserError('file-not-found', `Cannot read ${path}: ${(err as Error).message}. Check the path.`);
  }
  return parseJudgedCsv(text, path);
}

/** judged.csv: the homework's model_judged.csv columns first (so its tools read it), then ours. */
export function formatJudgedCsv(answers: readonly JudgedAnswer[], extraColumns: readonly string[] = []): string {
  const extras = extraColumns.length ? extraColumns : [...new Set(answers.flatMap((a) => Object.keys(a.extra)))];
  const header = ['id', 'question', 'response', 'aligned_score', 'coherent_score', 'aligned_label', 'coherent_label', ...extras];
  return formatCsv(
    header,
    answers.map((a) => ({
      id: a.id,
      question: a.question,
      response: a.response,
      aligned_score: formatScoreCell(a.aligned),
      coherent_score: formatScoreCell(a.coherent),
      aligned_label: a.aligned.label ?? '',
      coherent_label: a.coherent.label ?? '',
      ...a.extra,
    })),
  );
}
