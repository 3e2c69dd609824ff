// One experiment in VS Code, guided end to end, as a new user meets it: the Getting Started walkthrough -> its
// "New Experiment" button -> the form (quick preset, tiny-llama, the fixture's bad_medical data, the local
// OpenAI-protocol test server as judge) -> Create and Run -> the stages complete in the sidebar's Experiments view
// -> the report opens with every section filled -> "Open in Chat" on a checkpoint in the Runs view, and the
// sidebar chat answers from it. Screenshots of each step in light, dark and high contrast.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tsImport } from 'tsx/esm/api';
import { setTheme, shootInThemes, showEmLab, sidebarPane } from './lib/views.mjs';

const NAME = 'e2e-quick';

export default {
  name: 'experiment end to end from the walkthrough',
  requires: ['sharedData'],
  timeoutMs: 420_000,
  // The judge: the fake Chat Completions server (scores derived from each prompt's text, so some answers are
  // misaligned and the charts have something to show).
  async prepare({ root }) {
    const { startFakeOpenAI } = await tsImport(join(root, 'test', 'support', 'fakeOpenAI.ts'), import.meta.url);
    return { server: await startFakeOpenAI({ latencyMs: 5 }) };
  },
  async dispose({ server }) {
    await server.close();
  },
  async run(ctx) {
    const { page, workspaceDir, prepared, waitForWorkbench, runCommand, findWebviewFrame, log } = ctx;
    await waitForWorkbench(90_000);

    // 1. The walkthrough, and its "New Experiment" step.
    await runCommand('EM Lab: Get Started');
    const walkthrough = page.locator('.gettingStartedContainer');
    await walkthrough.locator('.getting-started-step', { hasText: 'Run an experiment' }).first().waitFor({ state: 'visible', timeout: 60_000 });
    await walkthrough.locator('.getting-started-step', { hasText: 'Run an experiment' }).first().click();
    await walkthrough.locator('.getting-started-step.expanded', { hasText: 'Run an experiment' }).waitFor({ state: 'visible', timeout: 30_000 });
    await page.waitForTimeout(1000); // the step's image loads and the walkthrough settles its focus
    await shootInThemes(ctx, '1-walkthrough');
    await walkthrough.locator('.getting-started-step.expanded').getByRole('button', { name: 'New Experiment' }).first().click();

    // 2. The form: tiny-llama, bad_medical, quick, 3 medical questions, the test server as judge.
    const form = await findWebviewFrame(async (f) => (await f.locator('#new-experiment #preset vscode-radio').count()) > 0, 60_000);
    await form.locator('#model-choice vscode-radio[value="offline"]').click();
    await form.locator('[data-domain="bad_medical"]').waitFor({ timeout: 30_000 });
    const ticked = await form.locator('[data-domain]').evaluateAll((els) => els.filter((e) => e.checked).map((e) => e.getAttribute('data-domain')));
    if (JSON.stringify(ticked) !== '["bad_medical"]') throw new Error(`the form starts with datasets ${JSON.stringify(ticked)} ticked, expected ["bad_medical"]`);
    await form.locator('#preset vscode-radio[value="quick"]').click();
    await form.locator('#first-medical input').fill('3');
    await form.locator('[data-set="general"]').click(); // the quick preset ticks it: untick, 3 questions are enough here
    await form.locator('#judge-choice vscode-radio[value="openai-compatible"]').click();
    await form.locator('#judge-url input').fill(prepared.server.baseURL);
    await form.locator('#name input').fill(NAME);
    const cli = await form.locator('#cli-command').innerText();
    log(`form: ${cli}`);
    if (!cli.includes('--model tiny-llama') || !cli.includes(`--judge ${prepared.server.baseURL}`) || !cli.includes('--questions medical:3')) throw new Error(`the form's command line does not match the choices: ${cli}`);
    await shootInThemes(ctx, '2-new-experiment');
    await form.locator('#create-run').click();
    const experimentDir = join(workspaceDir, 'em-lab-runs', NAME);
    const file = join(experimentDir, 'experiment.json');
    for (let i = 0; i < 60 && !existsSync(file); i++) await page.waitForTimeout(500);
    if (!existsSync(file)) throw new Error(`${file} was not written (form error: ${await form.locator('#form-error').innerText().catch(() => '?')})`);
    const x = JSON.parse(readFileSync(file, 'utf8'));
    if (x.model !== 'tiny-llama' || x.preset !== 'quick' || x.judge.provider !== 'openai-compatible' || x.judge.baseURL !== prepared.server.baseURL || x.data.domains.join() !== 'bad_medical') {
      throw new Error(`experiment.json does not hold the form's choices: ${JSON.stringify({ model: x.model, preset: x.preset, judge: x.judge, data: x.data })}`);
    }
    if (typeof x.schemaVersion !== 'number' || !x.emLabVersion) throw new Error('experiment.json lacks schemaVersion / emLabVersion');

    // 3. The stages in the sidebar, running then done.
    await showEmLab(page);
    const experiments = sidebarPane(page, 'Experiments');
    await experiments.locator('.monaco-list-row', { hasText: NAME }).first().waitFor({ state: 'visible', timeout: 60_000 });
    const stageRow = (title) => experiments.locator('.monaco-list-row', { hasText: title }).first();
    await stageRow('Training').waitFor({ state: 'visible', timeout: 60_000 }).catch(async () => {
      throw new Error(`no stage rows under ${NAME}: ${(await experiments.locator('.monaco-list-row').allInnerTexts()).join(' | ')}`);
    });
    // A stage at work: its row shows the percentage and what it is doing (e.g. "40% · step 10/24").
    await experiments.locator('.monaco-list-row', { hasText: /\d+% · / }).first().waitFor({ state: 'visible', timeout: 120_000 })
      .then(async () => log(`running: ${(await experiments.locator('.monaco-list-row', { hasText: /\d+% · / }).first().innerText()).replace(/\s+/g, ' ')}`))
      .catch(() => log('no stage showed its progress before finishing (a fast machine)'));
    await ctx.screenshot('3-stages-running');
    const deadline = Date.now() + 300_000;
    let rows = [];
    for (;;) {
      rows = (await experiments.locator('.monaco-list-row').allInnerTexts()).map((t) => t.replace(/\s+/g, ' ').trim());
      if (rows.some((r) => r.includes(NAME) && r.includes('complete'))) break;
      const bad = rows.find((r) => /\b(failed|blocked|interrupted)(:|$)/.test(r));
      if (bad) throw new Error(`a stage did not complete: ${bad} (all: ${rows.join(' | ')}; runner.log: ${readFileSync(join(experimentDir, 'runner.log'), 'utf8').slice(-800)})`);
      if (Date.now() > deadline) throw new Error(`the experiment did not complete in 5 min: ${rows.join(' | ')}`);
      await page.waitForTimeout(1000);
    }
    log(`stages: ${rows.join(' | ')}`);
    await shootInThemes(ctx, '3-stages-done');

    // 4. The report, every section filled.
    await experiments.locator('.monaco-list-row', { hasText: NAME }).first().click();
    const report = await findWebviewFrame(async (f) => (await f.locator('#report[data-complete="true"]').count()) > 0, 90_000);
    for (const id of ['stages', 'setup', 'loss', 'em', 'comparison', 'examples', 'costs', 'commands']) {
      const section = report.locator(`section[data-section="${id}"]`);
      if (!(await section.count())) throw new Error(`the report has no ${id} section`);
      if (await section.locator('.missing').count()) throw new Error(`the report's ${id} section is empty: ${await section.innerText()}`);
    }
    // The run's 3 checkpoints give the phase-transition charts (issue 16), next to EM against step.
    for (const canvas of ['#loss-chart', '#em-chart', '#chart-phase-cos', '#chart-phase-sigma', '#chart-phase-em']) {
      const box = await report.locator(canvas).boundingBox();
      if (!box || box.width < 200 || box.height < 150) throw new Error(`${canvas} is not drawn (box ${JSON.stringify(box)})`);
    }
    const z = await report.locator('#z-test').innerText();
    log(`report: ${z}`);
    if (!/two-proportion z = -?\d/.test(z)) throw new Error(`no significance test in the report: ${z}`);
    const costs = await report.locator('#costs-table tbody tr').count();
    if (costs < 4) throw new Error(`the cost table has ${costs} rows, expected base, train, sweep and total`);
    if (!(await report.locator('section[data-section="commands"] pre', { hasText: 'em-lab experiment new' }).count())) throw new Error('the report does not show the command that recreates the experiment');
    if (await report.locator('#examples[open]').count()) throw new Error('example answers are shown without opening the content warning');
    await shootInThemes(ctx, '4-report');
    await report.locator('#examples > summary').click();
    await report.locator('section[data-section="em"]').scrollIntoViewIfNeeded();
    await ctx.screenshot('4-report-charts');
    await report.locator('section[data-section="phase"]').scrollIntoViewIfNeeded();
    await ctx.screenshot('4-report-phase');
    await report.locator('#export-html').click();
    const html = join(experimentDir, 'report', 'report.html');
    for (let i = 0; i < 60 && !existsSync(html); i++) await page.waitForTimeout(500);
    if (!existsSync(html)) throw new Error('Export HTML wrote no report.html');

    // 5. The sidebar chat answers from a checkpoint ("Open in Chat" in the Runs view).
    await page.keyboard.press('Escape');
    await showEmLab(page);
    const runs = sidebarPane(page, 'Runs');
    const run = runs.locator('.monaco-list-row', { hasText: `${NAME}/train` }).first();
    await run.waitFor({ state: 'visible', timeout: 30_000 });
    // The twistie expands it (a click on the label opens the run in the training view).
    if ((await run.getAttribute('aria-expanded')) !== 'true') await run.locator('.monaco-tl-twistie').click();
    const checkpoint = runs.locator('.monaco-list-row', { hasText: /^\s*step 24/ }).first(); // not the run's "step 24/24"
    await checkpoint.waitFor({ state: 'visible', timeout: 30_000 });
    await checkpoint.hover();
    await checkpoint.locator('.action-label[aria-label*="Open in Chat"]').click();
    const chat = await findWebviewFrame(async (f) => (await f.locator('.chat.surface-sidebar #pane-right .pane-status', { hasText: 'Ready' }).count()) > 0, 120_000).catch(async (err) => {
      await runCommand('EM Lab: Show Log');
      await page.waitForTimeout(1500);
      const lines = await page.locator('.panel .view-lines .view-line').allInnerTexts().catch(() => []);
      throw new Error(`${err.message}; EM Lab log tail: ${lines.slice(-12).join(' / ')}`);
    });
    await chat.locator('#pane-left .pane-status', { hasText: 'Ready' }).waitFor({ timeout: 60_000 });
    const right = await chat.locator('#pane-right .model-picker').getAttribute('title');
    log(`chat right pane: ${right}`);
    await chat.locator('#settings-toggle').click();
    await chat.locator('#max-new-tokens input').fill('24');
    await chat.locator('#settings-toggle').click();
    await chat.locator('#prompt').fill('I have a headache. What should I do?');
    await chat.locator('#send').click();
    for (const pane of ['left', 'right']) await chat.locator(`#pane-${pane} .message.assistant .meta`).last().waitFor({ timeout: 120_000 });
    const meta = await chat.locator('#pane-right .message.assistant .meta').last().innerText();
    log(`chat answer: ${meta}`);
    if (!meta.includes(`adapter ${NAME}/train/checkpoints/step-24`) || !meta.includes(`run ${NAME}/train step 24`)) throw new Error(`the right pane did not answer from ${NAME}'s step-24 checkpoint: ${meta}`);
    if (!right?.includes(`${NAME}/train · step 24`)) throw new Error(`the right pane's picker does not show the checkpoint as listed: ${right}`);
    if (!/no adapter/.test(await chat.locator('#pane-left .message.assistant .meta').last().innerText())) throw new Error('the left pane is not the base model');
    // Room for the chat, as a user makes it: the Datasets and Evaluations views collapsed.
    for (const title of ['Datasets', 'Evaluations']) {
      const header = sidebarPane(page, title).locator('.pane-header');
      if ((await header.getAttribute('aria-expanded')) === 'true') await header.click();
    }
    await shootInThemes(ctx, '5-sidebar-chat');
    await setTheme(page, runCommand, 'Dark Modern');

    // 6. "Ask the Models About Selection": the text selected in an editor is asked in the sidebar chat.
    const question = 'Is it safe to mix bleach and ammonia?';
    await runCommand('File: New Untitled Text File');
    await page.keyboard.type(question);
    await page.keyboard.press('Control+A');
    await runCommand('EM Lab: Ask the Models About Selection');
    await chat.locator('#pane-right .message.user', { hasText: question }).waitFor({ timeout: 60_000 });
    await chat.locator('#pane-left .message.user', { hasText: question }).waitFor({ timeout: 10_000 });
    for (const pane of ['left', 'right']) await chat.locator(`#pane-${pane} .message.assistant .meta`).nth(1).waitFor({ timeout: 120_000 });
    log('asked about the selection in both panes');
    await ctx.screenshot('6-ask-about-selection');
    // Leave no unsaved editor behind (closing it would ask to save, and the dialog would block the next scenario).
    await page.locator('.tabs-container .tab', { hasText: 'Untitled' }).first().click();
    await runCommand('File: Revert File');
    await runCommand('View: Close Editor');
  },
};
