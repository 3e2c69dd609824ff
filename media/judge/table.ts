// The answers table: sortable by any column, filtered by text and by "misaligned only", long answers collapsed
// with a toggle. Text from the data is set with textContent, never parsed as HTML.
import type { EvalPresetId, JudgedRowView } from '../../src/protocol/evalMethods';
import { el } from '../shared/vscodeApi';

export interface TableOptions {
  preset: EvalPresetId;
  filter: string;
  onlyMisaligned: boolean;
  sort: { column: string; descending: boolean };
  groupColumn?: string;
}

/** Answers longer than this are collapsed to their first PREVIEW_CHARS characters until expanded. */
const PREVIEW_CHARS = 240;
/** Rows drawn at once; the rest are behind "show more" so 10k-row sweeps stay responsive. */
const PAGE_ROWS = 500;

export const COLUMNS = ['id', 'group', 'question', 'response', 'aligned', 'coherent', 'labels', 'misaligned'] as const;
export type Column = (typeof COLUMNS)[number];

function labels(r: JudgedRowView): string {
  return [r.alignedLabel && `aligned: ${r.alignedLabel}`, r.coherentLabel && `coherent: ${r.coherentLabel}`].filter(Boolean).join(', ');
}

function sortValue(r: JudgedRowView, column: string, preset: EvalPresetId): string | number {
  switch (column) {
    case 'aligned':
      return r.aligned ?? -1;
    case 'coherent':
      return r.coherent ?? -1;
    case 'misaligned':
      return r.misaligned[preset] ? 1 : 0;
    case 'group':
      return r.group !== undefined && r.group !== '' && Number.isFinite(Number(r.group)) ? Number(r.group) : (r.group ?? '');
    case 'labels':
      return labels(r);
    default:
      return (r as unknown as Record<string, string>)[column] ?? '';
  }
}

export function visibleRows(rows: readonly JudgedRowView[], o: TableOptions): JudgedRowView[] {
  const needle = o.filter.trim().toLowerCase();
  const out = rows.filter((r) => (!o.onlyMisaligned || r.misaligned[o.preset]) && (!needle || `${r.id}\n${r.question}\n${r.response}\n${labels(r)}`.toLowerCase().includes(needle)));
  const dir = o.sort.descending ? -1 : 1;
  return out.sort((a, b) => {
    const x = sortValue(a, o.sort.column, o.preset);
    const y = sortValue(b, o.sort.column, o.preset);
    return (typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y), undefined, { numeric: true })) * dir;
  });
}

function responseCell(text: string): HTMLTableCellElement {
  const td = el('td', { class: 'response' });
  if (text.length <= PREVIEW_CHARS) {
    td.textContent = text;
    return td;
  }
  const body = el('span', { class: 'response-text' }, text.slice(0, PREVIEW_CHARS) + '…');
  const toggle = el('button', { class: 'link expand', type: 'button', 'aria-expanded': 'false' }, 'more');
  toggle.addEventListener('click', () => {
    const open = toggle.getAttribute('aria-expanded') !== 'true';
    body.textContent = open ? text : text.slice(0, PREVIEW_CHARS) + '…';
    toggle.textContent = open ? 'less' : 'more';
    toggle.setAttribute('aria-expanded', String(open));
  });
  td.append(body, ' ', toggle);
  return td;
}

export function renderTable(table: HTMLTableElement, rows: readonly JudgedRowView[], o: TableOptions, onSort: (column: Column) => void, limit = PAGE_ROWS): JudgedRowView[] {
  const shown = visibleRows(rows, o);
  const columns = COLUMNS.filter((c) => c !== 'group' || o.groupColumn);
  const head = el('tr');
  for (const c of columns) {
    const label = c === 'group' ? o.groupColumn! : c;
    const th = el('th', { 'data-column': c, scope: 'col', 'aria-sort': o.sort.column === c ? (o.sort.descending ? 'descending' : 'ascending') : 'none' }, label + (o.sort.column === c ? (o.sort.descending ? ' ▼' : ' ▲') : ''));
    th.addEventListener('click', () => onSort(c));
    head.append(th);
  }
  const body = el('tbody');
  for (const r of shown.slice(0, limit)) {
    const tr = el('tr', { 'data-id': r.id, class: r.misaligned[o.preset] ? 'misaligned' : '' });
    for (const c of columns) {
      if (c === 'response') tr.append(responseCell(r.response));
      else if (c === 'misaligned') tr.append(el('td', { class: 'flag' }, r.misaligned[o.preset] ? 'yes' : ''));
      else if (c === 'labels') tr.append(el('td', {}, labels(r)));
      else if (c === 'aligned' || c === 'coherent') tr.append(el('td', { class: 'num' }, r[c] === null ? '' : Number.isInteger(r[c]) ? String(r[c]) : r[c]!.toFixed(1)));
      else if (c === 'group') tr.append(el('td', { class: 'num' }, r.group ?? ''));
      else tr.append(el('td', {}, r[c]));
    }
    body.append(tr);
  }
  table.replaceChildren(el('thead', {}, head), body);
  return shown;
}

function csvField(v: string | number | null | undefined): string {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The visible rows as CSV: the homework's judged columns first, then labels, group and the preset's verdict. */
export function rowsToCsv(rows: readonly JudgedRowView[], preset: EvalPresetId, groupColumn?: string): string {
  const score = (v: number | null, label?: string) => (v !== null ? v : label === 'CODE' || label === 'REFUSAL' ? label : '');
  const header = ['id', 'question', 'response', 'aligned_score', 'coherent_score', 'labels', ...(groupColumn ? [groupColumn] : []), `misaligned_${preset}`];
  const lines = rows.map((r) => [r.id, r.question, r.response, score(r.aligned, r.alignedLabel), score(r.coherent, r.coherentLabel), labels(r), ...(groupColumn ? [r.group ?? ''] : []), r.misaligned[preset] ? 1 : 0].map(csvField).join(','));
  return [header.join(','), ...lines].join('\n') + '\n';
}
