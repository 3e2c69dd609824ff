// Plain-text tables for readable CLI output: numbers right-aligned, text left-aligned.
export function formatTable(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map((c) => (typeof c === 'number' ? formatNumber(c) : c)))];
  const numeric = headers.map((_, col) => rows.length > 0 && rows.every((r) => typeof r[col] === 'number'));
  const widths = headers.map((_, col) => Math.max(...cells.map((r) => (r[col] ?? '').length)));
  const line = (r: string[]) => r.map((c, col) => (numeric[col] ? c.padStart(widths[col]!) : c.padEnd(widths[col]!))).join('  ').trimEnd();
  return [line(cells[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

export function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return '-';
  return Number.isInteger(n) ? String(n) : n.toFixed(1);
}
