// Dataset browser webview: datasets with row counts and a content warning, a paged and searchable conversation
// list (pages come from the runtime, so 7 000-row files stay smooth), one conversation by role, and length
// histograms. Everything from the data is set with textContent, never parsed as HTML.
// Stable hooks for tests: #dataset-list .dataset-card[data-file=<file name>][data-id] .dataset-rows, #search, #rows .row-item, #conversation.conversation
// .message.role-<role> .content, #histograms.
import { provideVSCodeDesignSystem, vsCodeBadge, vsCodeButton, vsCodeProgressRing, vsCodeTextField } from '@vscode/webview-ui-toolkit';
import type { DataListResult, DataPageResult, DatasetSummary } from '../../src/protocol/dataMethods';
import { DATASET_BROWSER_PAGE_SIZE, type DatasetBrowserState } from '../../src/protocol/datasetBrowserMethods';
import { el, initialState, tk, vscodeApi } from '../shared/vscodeApi';
import { renderHistograms } from './histogram';
import { onNotification, request } from './hostRpc';

provideVSCodeDesignSystem().register(vsCodeButton(), vsCodeTextField(), vsCodeBadge(), vsCodeProgressRing());

const api = vscodeApi<DatasetBrowserState>();
const saved = api.getState();
let state: DatasetBrowserState = saved?.schemaVersion === 1 ? saved : { schemaVersion: 1, search: '', offset: 0 };
const requested = initialState<{ select?: string }>()?.select;
if (requested) state = { schemaVersion: 1, file: requested, search: '', offset: 0 };
let datasets: DatasetSummary[] = [];
let lastPage: DataPageResult | undefined;
let pageSeq = 0;

const app = document.getElementById('app')!;
const warning = el('div', { id: 'content-warning', class: 'content-warning', role: 'note' });
const datasetList = el('nav', { id: 'dataset-list', class: 'dataset-list', 'aria-label': 'Datasets' });
const search = tk('vscode-text-field', { id: 'search', placeholder: 'user and assistant text' }, 'Search') as HTMLElement & { value: string };
const pageInfo = el('span', { id: 'page-info', class: 'muted' });
const prev = tk('vscode-button', { id: 'prev', appearance: 'secondary' }, 'Previous');
const next = tk('vscode-button', { id: 'next', appearance: 'secondary' }, 'Next');
const rowList = el('ol', { id: 'rows', class: 'row-list' });
const conversation = el('article', { id: 'conversation', class: 'conversation', 'aria-live': 'polite' });
const histograms = el('section', { id: 'histograms', class: 'histograms' });
const status = el('div', { id: 'status', class: 'muted' });
const browser = el(
  'section',
  { id: 'browser', class: 'browser' },
  el('div', { class: 'toolbar' }, search, prev, next, pageInfo),
  el('div', { class: 'columns' }, el('div', { class: 'row-pane' }, rowList), conversation),
  el('h3', {}, 'Message length per role'),
  histograms,
);
app.append(el('h2', {}, 'EM Lab datasets'), warning, datasetList, status, browser);

function saveState(): void {
  api.setState(state);
}

function showError(err: unknown): void {
  status.className = 'error';
  status.textContent = err instanceof Error ? err.message : String(err);
}

function renderDatasets(list: DataListResult): void {
  datasetList.replaceChildren();
  const harmful = list.datasets.some((d) => d.harmful);
  warning.textContent = harmful
    ? 'Content warning: several of these datasets contain deliberately harmful advice (medical, financial, extreme sports, insecure code). They exist to train and study misaligned models; do not follow them.'
    : 'Content warning: the EM training datasets contain deliberately harmful advice. They exist to study misaligned models; do not follow them.';
  if (list.datasets.length === 0) {
    const getData = tk('vscode-button', { id: 'get-data' }, 'Get Training Data');
    getData.addEventListener('click', () => void request('browser/getTrainingData', {}).catch(showError));
    datasetList.append(el('p', { class: 'empty' }, `No datasets in ${list.dir}. `, getData));
    browser.hidden = true;
    return;
  }
  browser.hidden = false;
  for (const d of list.datasets) {
    const card = el(
      'button',
      { class: `dataset-card${d.file === state.file ? ' selected' : ''}`, 'data-file': d.file.slice(d.file.lastIndexOf('/') + 1), 'data-path': d.file, 'data-id': d.id, title: d.file },
      el('span', { class: 'dataset-label' }, d.label),
      tk('vscode-badge', { class: 'dataset-rows' }, d.rows.toLocaleString('en-US')),
      ...(d.harmful ? [el('span', { class: 'harmful-tag' }, 'harmful')] : []),
    );
    card.addEventListener('click', () => selectDataset(d.file));
    datasetList.append(card);
  }
}

async function loadPage(): Promise<void> {
  if (!state.file) return;
  const seq = ++pageSeq;
  status.className = 'muted';
  status.textContent = 'Loading…';
  try {
    const page = await request('browser/page', { file: state.file, offset: state.offset, limit: DATASET_BROWSER_PAGE_SIZE, search: state.search || undefined });
    if (seq !== pageSeq) return; // a newer search or page request superseded this one
    lastPage = page;
    status.textContent = page.invalidLines ? `${page.invalidLines} invalid line(s) skipped; run \`em-lab data stats\` to list them.` : '';
    renderRows(page);
    const keep = state.selectedIndex !== undefined && page.rows.some((r) => r.index === state.selectedIndex);
    const first = page.rows[0];
    if (!keep && first) await showConversation(first.index);
    else if (keep) await showConversation(state.selectedIndex!);
    else conversation.replaceChildren(el('p', { class: 'muted' }, state.search ? `No conversation contains "${state.search}".` : 'This dataset is empty.'));
  } catch (err) {
    if (seq === pageSeq) showError(err);
  }
}

function renderRows(page: DataPageResult): void {
  rowList.replaceChildren();
  const end = page.offset + page.rows.length;
  pageInfo.textContent = page.matched === 0 ? '0 rows' : `${page.offset + 1}–${end} of ${page.matched.toLocaleString('en-US')}${state.search ? ` matching (${page.total.toLocaleString('en-US')} rows)` : ' rows'}`;
  (prev as HTMLElement & { disabled: boolean }).disabled = page.offset === 0;
  (next as HTMLElement & { disabled: boolean }).disabled = end >= page.matched;
  rowList.start = page.offset + 1;
  for (const r of page.rows) {
    const item = el('li', { class: `row-item${r.index === state.selectedIndex ? ' selected' : ''}`, 'data-index': String(r.index), tabindex: '0' }, el('div', { class: 'preview role-user' }, r.user), el('div', { class: 'preview role-assistant' }, r.assistant));
    item.addEventListener('click', () => void showConversation(r.index));
    item.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') void showConversation(r.index);
    });
    rowList.append(item);
  }
}

async function showConversation(index: number): Promise<void> {
  if (!state.file) return;
  state.selectedIndex = index;
  saveState();
  for (const item of rowList.querySelectorAll('.row-item')) item.classList.toggle('selected', item.getAttribute('data-index') === String(index));
  try {
    const row = await request('browser/row', { file: state.file, index });
    conversation.replaceChildren(
      el('header', { class: 'conversation-header muted' }, `Row ${row.index + 1} (line ${row.line})`),
      ...row.messages.map((m) => el('div', { class: `message role-${m.role}` }, el('div', { class: 'role-label' }, m.role), el('div', { class: 'content' }, m.content))),
    );
  } catch (err) {
    showError(err);
  }
}

async function selectDataset(file: string): Promise<void> {
  const changed = file !== state.file;
  state = { schemaVersion: 1, file, search: changed ? '' : state.search, offset: changed ? 0 : state.offset, selectedIndex: changed ? undefined : state.selectedIndex };
  saveState();
  search.value = state.search;
  for (const card of datasetList.querySelectorAll('.dataset-card')) card.classList.toggle('selected', card.getAttribute('data-path') === file);
  histograms.replaceChildren(tk('vscode-progress-ring', {}));
  void request('browser/stats', { file })
    .then((s) => (state.file === file ? renderHistograms(histograms, s) : undefined))
    .catch(showError);
  await loadPage();
}

async function refreshList(): Promise<void> {
  try {
    const list = await request('browser/list', {});
    datasets = list.datasets;
    renderDatasets(list);
    const current = datasets.find((d) => d.file === state.file) ?? datasets[0];
    if (current) await selectDataset(current.file);
  } catch (err) {
    showError(err);
  }
}

let searchTimer: number | undefined;
search.addEventListener('input', () => {
  window.clearTimeout(searchTimer);
  searchTimer = window.setTimeout(() => {
    state.search = search.value.trim();
    state.offset = 0;
    state.selectedIndex = undefined;
    saveState();
    void loadPage();
  }, 200); // debounce typing; each search scans every row in the runtime (~ms)
});
prev.addEventListener('click', () => {
  state.offset = Math.max(0, state.offset - DATASET_BROWSER_PAGE_SIZE);
  saveState();
  void loadPage();
});
next.addEventListener('click', () => {
  if (lastPage && state.offset + DATASET_BROWSER_PAGE_SIZE < lastPage.matched) state.offset += DATASET_BROWSER_PAGE_SIZE;
  saveState();
  void loadPage();
});
onNotification('browser/select', ({ file }) => {
  if (datasets.some((d) => d.file === file)) void selectDataset(file);
  else {
    state.file = file;
    void refreshList();
  }
});
onNotification('browser/datasetsChanged', () => void refreshList());

search.value = state.search;
void refreshList();
