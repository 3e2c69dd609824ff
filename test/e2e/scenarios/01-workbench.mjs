// The workbench loads with EM Lab in it: the "EM Lab" activity-bar item appears and opens its sidebar.
export default {
  name: 'workbench shows EM Lab',
  timeoutMs: 120_000,
  async run({ page, waitForWorkbench, screenshot }) {
    await waitForWorkbench(90_000);
    const item = page.locator('.activitybar [aria-label="EM Lab"], .activitybar [aria-label^="EM Lab ("]').first();
    await item.click();
    // The EM Lab view container's sidebar opens with its title.
    await page.locator('.sidebar .composite.title', { hasText: /EM Lab/i }).first().waitFor({ state: 'visible', timeout: 30_000 });
    await screenshot('sidebar');
  },
};
