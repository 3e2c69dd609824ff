// The workbench loads with EM Lab in it: the "EM Lab" activity-bar item appears, and clicking it opens the EM Lab
// sidebar with its Experiments, Datasets, Runs, Evaluations and Chat views (src/views/sidebar, src/views/chat);
// an empty Experiments view offers "New Experiment" (package.json viewsWelcome).
export default {
  name: 'workbench shows EM Lab',
  timeoutMs: 120_000,
  async run({ page, waitForWorkbench, screenshot }) {
    await waitForWorkbench(90_000);
    const item = page.locator('.activitybar [aria-label="EM Lab"], .activitybar [aria-label^="EM Lab ("]').first();
    await item.click();
    await page.locator('.sidebar .composite.title', { hasText: /EM Lab/i }).first().waitFor({ state: 'visible', timeout: 30_000 });
    for (const view of ['Experiments', 'Datasets', 'Runs', 'Evaluations', 'Chat']) {
      await page.locator('.sidebar .pane-header', { hasText: new RegExp(`^\\s*${view}`, 'i') }).first()
        .waitFor({ state: 'visible', timeout: 60_000 })
        .catch(() => { throw new Error(`the EM Lab sidebar shows no "${view}" view`); });
    }
    // The Experiments view's welcome content (shown while it is empty) has the New Experiment button.
    await page.locator('.sidebar .welcome-view-content', { hasText: 'New Experiment' }).first().waitFor({ state: 'visible', timeout: 60_000 })
      .catch(() => { throw new Error('the empty Experiments view offers no "New Experiment" button'); });
    await screenshot('sidebar');
  },
};
