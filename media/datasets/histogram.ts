// Length histograms per role with Chart.js. Only the bar chart pieces are registered (keeps the bundle small).
import { BarController, BarElement, CategoryScale, Chart, LinearScale, Tooltip } from 'chart.js';
import type { DataStatsResult } from '../../src/protocol/dataMethods';
import { el } from '../shared/vscodeApi';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Tooltip);

const ROLE_COLOR_VAR: Record<string, string> = { system: '--vscode-charts-purple', user: '--vscode-charts-blue', assistant: '--vscode-charts-orange' };
let charts: Chart[] = [];

function cssVar(name: string, fallback: string): string {
  return getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;
}

export function renderHistograms(container: HTMLElement, stats: DataStatsResult): void {
  for (const c of charts) c.destroy();
  charts = [];
  container.replaceChildren();
  const fg = cssVar('--vscode-foreground', '#ccc');
  const grid = cssVar('--vscode-panel-border', '#444');
  for (const [role, s] of Object.entries(stats.roles)) {
    if (!s) continue;
    const h = s.charsHistogram;
    const canvas = el('canvas', { id: `histogram-${role}`, 'aria-label': `${role} message lengths` });
    const d = s.chars;
    container.append(
      el(
        'figure',
        { class: `histogram role-${role}` },
        el('figcaption', {}, `${role}: ${s.messages.toLocaleString('en-US')} messages, characters min ${d.min} · median ${Math.round(d.median)} · p95 ${Math.round(d.p95)} · max ${d.max}`),
        el('div', { class: 'chart-box' }, canvas),
      ),
    );
    charts.push(
      new Chart(canvas, {
        type: 'bar',
        data: {
          labels: h.counts.map((_, i) => `${h.start + i * h.binWidth}–${h.start + (i + 1) * h.binWidth - 1}`),
          datasets: [{ label: role, data: h.counts, backgroundColor: cssVar(ROLE_COLOR_VAR[role] ?? '--vscode-charts-blue', '#3794ff'), barPercentage: 1, categoryPercentage: 1 }],
        },
        options: {
          animation: false,
          maintainAspectRatio: false,
          plugins: { legend: { display: false }, tooltip: { callbacks: { title: (items) => `${items[0]?.label ?? ''} characters` } } },
          scales: {
            x: { ticks: { color: fg, maxRotation: 0, autoSkip: true, maxTicksLimit: 8 }, grid: { color: grid } },
            y: { ticks: { color: fg }, grid: { color: grid }, title: { display: true, text: 'messages', color: fg } },
          },
        },
      }),
    );
  }
}
