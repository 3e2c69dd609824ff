// The EM Lab sidebar's Datasets view lists the decrypted fixture with row counts (the configured data folder,
// through the runtime); clicking a dataset opens it in the dataset browser; its inline action "Train on This
// Dataset" opens the training form with that dataset ticked.
export default {
  name: 'experiment sidebar lists the datasets',
  requires: ['sharedData'],
  timeoutMs: 150_000,
  async run({ page, waitForWorkbench, findWebviewFrame, screenshot, log }) {
    await waitForWorkbench(90_000);
    await page.locator('.activitybar .action-item a[aria-label^="EM Lab"]').first().click();
    const pane = page.locator('.sidebar .pane', { has: page.locator('.pane-header', { hasText: /^\s*Datasets/i }) }).first();
    const row = pane.locator('.monaco-list-row', { hasText: 'Bad medical advice' }).first();
    await row.waitFor({ state: 'visible', timeout: 60_000 });
    const text = await pane.locator('.monaco-list-row').allInnerTexts();
    log(`datasets view: ${text.map((t) => t.replace(/\s+/g, ' ')).join(' | ')}`);
    for (const expected of ['Bad medical advice', 'Good medical advice', 'Risky financial advice', 'Extreme sports advice', 'Insecure code']) {
      if (!text.some((t) => t.includes(expected))) throw new Error(`the Datasets view lacks "${expected}"`);
    }
    if (!text.some((t) => /Bad medical advice\s*7,049 rows/.test(t))) throw new Error('Bad medical advice does not show "7,049 rows"');
    await screenshot('sidebar');
    await row.click();
    const frame = await findWebviewFrame(async (f) => (await f.locator('#dataset-list .dataset-card.selected[data-file="bad_medical_advice.jsonl"]').count()) > 0, 60_000);
    await frame.locator('#conversation .message.role-assistant').first().waitFor({ state: 'visible', timeout: 30_000 });
    await screenshot('opened-from-sidebar');

    // The inline action on a dataset row: the training form opens with exactly that dataset ticked.
    await row.hover();
    const inline = row.locator('.action-label[aria-label*="Train on This Dataset"]');
    await inline.waitFor({ state: 'visible', timeout: 10_000 }).catch(async () => {
      throw new Error(`no inline "Train on This Dataset" action on the row; its actions: ${JSON.stringify(await row.locator('.action-label').evaluateAll((els) => els.map((e) => e.getAttribute('aria-label'))))}`);
    });
    await inline.click();
    const form = await findWebviewFrame(async (f) => (await f.locator('#train-form [data-domain="bad_medical"]').count()) > 0, 60_000);
    await form.waitForFunction(() => document.querySelector('#train-form [data-domain="bad_medical"]')?.checked === true, undefined, { timeout: 30_000 });
    const ticked = await form.locator('#train-form [data-domain]').evaluateAll((els) => els.filter((e) => e.checked).map((e) => e.getAttribute('data-domain')));
    if (JSON.stringify(ticked) !== '["bad_medical"]') throw new Error(`"Train on This Dataset" ticked ${JSON.stringify(ticked)}, expected ["bad_medical"]`);
    await screenshot('train-on-dataset');
  },
};
