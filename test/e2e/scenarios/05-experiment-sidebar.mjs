// The "EM Lab" activity-bar container: the Experiment view lists Datasets (with row counts), Runs and
// Evaluations; the inline action on a dataset opens it in the dataset browser.
export default {
  name: 'experiment sidebar lists the datasets',
  requires: ['sharedData'],
  timeoutMs: 150_000,
  async run({ page, waitForWorkbench, findWebviewFrame, screenshot, log }) {
    await waitForWorkbench(90_000);
    await page.locator('.activitybar .action-item a[aria-label^="EM Lab"]').first().click();
    const row = page.locator('.monaco-list-row', { hasText: 'Bad medical advice' }).first();
    await row.waitFor({ state: 'visible', timeout: 60_000 });
    const text = await page.locator('.pane-body .monaco-list-row').allInnerTexts();
    log(`experiment view: ${text.map((t) => t.replace(/\s+/g, ' ')).join(' | ')}`);
    for (const expected of ['Datasets', 'Runs', 'Evaluations', 'Bad medical advice', 'Insecure code']) {
      if (!text.some((t) => t.includes(expected))) throw new Error(`the Experiment view lacks "${expected}"`);
    }
    if (!text.some((t) => /Bad medical advice\s*7,049 rows/.test(t))) throw new Error('Bad medical advice does not show "7,049 rows"');
    await screenshot('sidebar');
    await row.click();
    const frame = await findWebviewFrame(async (f) => (await f.locator('#dataset-list .dataset-card.selected[data-file="bad_medical_advice.jsonl"]').count()) > 0, 60_000);
    await frame.locator('#conversation .message.role-assistant').first().waitFor({ state: 'visible', timeout: 30_000 });
    await screenshot('opened-from-sidebar');
  },
};
