// The "SLURM Grids" view: a grid submitted from the workspace (cells written as `experiment submit --slurm` writes
// them, slurm/jobs.json, cells' status.json as their runners leave them) shows as one row counting its cells, with
// one row per cell naming its state and the stage at work. No cluster runs here: SLURM's failure to answer is
// shown on the grid row, and the cells' states come from their folders alone.
import { mkdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { tsImport } from 'tsx/esm/api';

export default {
  name: 'slurm grids view shows a submitted grid',
  timeoutMs: 150_000,
  async prepare({ root, workspaceDir }) {
    const { createExperiment } = await tsImport(join(root, 'src', 'runtime', 'experiment', 'experimentFile.ts'), import.meta.url);
    const { readGridFolder, writeCells } = await tsImport(join(root, 'src', 'runtime', 'cluster', 'gridFolder.ts'), import.meta.url);
    const dir = join(workspaceDir, 'em-lab-runs', 'seeds-grid');
    const e = createExperiment({ preset: 'quick', dir, name: 'seeds-grid', model: 'tiny-llama', data: { domains: ['bad_medical'] }, judge: { provider: 'none' } });
    writeFileSync(e.file, JSON.stringify({ ...e.experiment, grid: { 'data.domains': [['bad_medical'], ['risky_financial']], 'training.seed': [0, 1] } }, null, 2));
    writeCells(readGridFolder(e.file));
    mkdirSync(join(dir, 'slurm'), { recursive: true });
    writeFileSync(join(dir, 'slurm', 'jobs.json'), JSON.stringify({ schemaVersion: 1, jobs: [{ jobId: '41', script: 'slurm/submit-1.sbatch', cells: [0, 1, 2, 3], submittedAt: new Date().toISOString(), options: {} }] }));
    const stage = (status, extra = {}) => ({ status, outputs: [], cost: { seconds: 1, answersGenerated: 0, judgeRequests: 0, promptTokens: 0, completionTokens: 0, usd: null }, ...extra });
    const status = (stages, runner) => JSON.stringify({ schemaVersion: 1, ...(runner ? { runner } : {}), stages });
    const done = { base: stage('done'), train: stage('done'), sweep: stage('done'), report: stage('done') };
    // cell 1's runner: this harness process on this host, so it reads as alive for the whole scenario
    const runner = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString(), heartbeat: new Date().toISOString() };
    writeFileSync(join(dir, 'cells', '0', 'status.json'), status(done));
    writeFileSync(join(dir, 'cells', '1', 'status.json'), status({ base: stage('done'), train: stage('running', { progress: { message: 'step 4/24, loss 31.2', fraction: 0.17 } }) }, runner));
    writeFileSync(join(dir, 'cells', '3', 'status.json'), status({ base: stage('blocked', { reason: 'No OpenAI API key for the judge.' }) }));
    return {};
  },
  async run({ page, waitForWorkbench, screenshot, log }) {
    await waitForWorkbench(90_000);
    await page.locator('.activitybar .action-item a[aria-label^="EM Lab"]').first().click();
    const header = page.locator('.pane-header', { hasText: 'SLURM Grids' }).first();
    await header.waitFor({ state: 'visible', timeout: 60_000 });
    if ((await header.getAttribute('aria-expanded')) !== 'true') await header.click();
    const gridRow = page.locator('.monaco-list-row', { hasText: 'seeds-grid' }).first();
    await gridRow.waitFor({ state: 'visible', timeout: 60_000 });
    const body = page.locator('.pane', { has: header }).locator('.monaco-list-row');
    await page.locator('.monaco-list-row', { hasText: '3: domains=risky_financial' }).first().waitFor({ state: 'visible', timeout: 30_000 });
    // label and description are separate elements: innerText may join them without a space
    const rows = (await body.allInnerTexts()).map((t) => t.replace(/\s+/g, ' ').trim());
    log(`SLURM Grids view: ${rows.join(' | ')}`);
    const expect = [
      /seeds-grid\s*1 done, 1 running, 1 blocked, 1 stopped/,
      /0: domains=bad_medical seed=0\s*done/,
      /1: domains=bad_medical seed=1\s*running · train running: step 4\/24, loss 31\.2/,
      /2: domains=risky_financial seed=0\s*stopped/,
      /3: domains=risky_financial seed=1\s*blocked · base blocked: No OpenAI API key/,
    ];
    for (const re of expect) if (!rows.some((r) => re.test(r))) throw new Error(`no row matches ${re}; rows: ${rows.join(' | ')}`);
    await screenshot('grid');
  },
};
