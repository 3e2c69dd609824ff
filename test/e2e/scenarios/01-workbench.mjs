// The workbench loads with EM Lab in it: the "EM Lab" activity-bar item appears, and clicking it opens the
// Experiment panel with its Datasets, Runs and Evaluations sections (src/views/sidebar).
export default {
  name: 'workbench shows EM Lab',
  timeoutMs: 120_000,
  async run({ page, waitForWorkbench, screenshot }) {
    await waitForWorkbench(90_000);
    const item = page.locator('.activitybar [aria-label="EM Lab"], .activitybar [aria-label^="EM Lab ("]').first();
    await item.click();
    await page.locator('.sidebar .composite.title', { hasText: /EM Lab/i }).first().waitFor({ state: 'visible', timeout: 30_000 });
    // The tree fills in once the extension has activated (before that VS Code shows "no data provider").
    for (const section of ['Datasets', 'Runs', 'Evaluations']) {
      await page.locator('.sidebar .monaco-list-row', { hasText: new RegExp(`^\\s*${section}\\s*$`) }).first()
        .waitFor({ state: 'visible', timeout: 60_000 })
        .catch(() => { throw new Error(`the Experiment panel shows no "${section}" section`); });
    }
    await screenshot('sidebar');
  },
};
