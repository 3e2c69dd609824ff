// Reads answers to judge: our generations.jsonl, or a CSV with question and response columns (the homework's
// model_generations.csv; an id column is used when present). Other columns are carried along to judged.csv.
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { UserError } from '../errors';
import { parseCsv } from './csv';
import type { GenerationRecord } from './generationRun';
import type { AnswerToJudge } from './judge/judgeRun';

export async function readAnswersFile(path: string): Promise<AnswerToJudge[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new UserError('file-not-found', `Cannot read ${path}: ${(err as Error).message}. Pass generations.jsonl or a CSV with id,question,response.`);
  }
  if (extname(path).toLowerCase() === '.jsonl') return answersFromJsonl(text, path);
  const { header, rows } = parseCsv(text, path);
  const responseCol = header.includes('response') ? 'response' : header.includes('answer') ? 'answer' : undefined;
  if (!header.includes('question') || !responseCol) {
    throw new UserError('answers-columns', `${path}: needs question and response columns (found: ${header.join(', ') || 'nothing'}), like the homework's model_generations.csv (id,question,response).`);
  }
  return rows.map((r, i) => {
    const extra: Record<string, string> = {};
    for (const h of header) if (h !== 'id' && h !== 'question' && h !== responseCol) extra[h] = r[h] ?? '';
    return { id: r.id?.trim() || String(i + 1), question: r.question ?? '', response: r[responseCol] ?? '', extra };
  });
}

function answersFromJsonl(text: string, path: string): AnswerToJudge[] {
  const out: AnswerToJudge[] = [];
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    let r: Partial<GenerationRecord>;
    try {
      r = JSON.parse(line) as Partial<GenerationRecord>;
    } catch {
      if (i === text.split('\n').length - 1 || text.split('\n').slice(i + 1).every((l) => !l.trim())) return; // torn last line
      throw new UserError('jsonl-syntax', `${path} line ${i + 1}: not valid JSON. Each line must be one generation record.`);
    }
    if (typeof r.question !== 'string' || typeof r.response !== 'string') throw new UserError('jsonl-fields', `${path} line ${i + 1}: needs "question" and "response" strings.`);
    const extra: Record<string, string> = {};
    if (r.setId) extra.set = r.setId;
    if (r.questionId) extra.question_id = r.questionId;
    if (r.sampleIndex !== undefined) extra.sample = String(r.sampleIndex);
    if (r.generator?.model) extra.model = r.generator.model;
    if (r.generator?.checkpoint) extra.checkpoint = r.generator.checkpoint;
    if (r.generator?.step !== undefined) extra.step = String(r.generator.step);
    // The uuid4 the homework's model_generations.csv shows, where there is one, so both files judge under one id.
    out.push({ id: r.rowId ?? r.id ?? String(out.length + 1), question: r.question, response: r.response, extra });
  });
  return out;
}
