// Helpers the EM Lab UI scenarios share (not a scenario: the harness loads only *.mjs files directly in
// scenarios/). Theme switching through the palette, as a user does it, and shots of one step in every theme.
export const THEMES = [
  ['light', 'Light Modern'],
  ['dark', 'Dark Modern'],
  ['high-contrast', 'Dark High Contrast'],
];

/**
 * "Preferences: Color Theme" from the palette (its row picked by aria-label: the fuzzy list puts "Browse Color
 * Themes in Marketplace" first), then the theme by its label.
 */
export async function setTheme(page, runCommand, label) {
  const input = page.locator('.quick-input-widget input');
  if (await input.isVisible().catch(() => false)) await page.keyboard.press('Escape');
  // F1, then Ctrl+Shift+P if the focus was somewhere that swallowed it (a webview just tabbed through).
  for (const key of ['F1', 'Control+Shift+P', 'F1']) {
    await page.keyboard.press(key);
    if (await input.waitFor({ state: 'visible', timeout: 5_000 }).then(() => true, () => false)) break;
    await page.keyboard.press('Escape');
  }
  await input.waitFor({ state: 'visible', timeout: 10_000 });
  await input.fill('>Preferences: Color Theme');
  await page.locator('.quick-input-list .monaco-list-row[aria-label^="Preferences: Color Theme,"]').first().waitFor({ state: 'visible', timeout: 30_000 });
  // Keyboard, not a click: move the selection to the exact command, then Enter.
  for (let i = 0; i < 8; i++) {
    const active = await input.getAttribute('aria-activedescendant');
    const label = active ? await page.locator(`[id="${active}"]`).getAttribute('aria-label').catch(() => '') : '';
    if (label?.startsWith('Preferences: Color Theme,')) break;
    await page.keyboard.press('ArrowDown');
  }
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => /Color Theme/.test(document.querySelector('.quick-input-widget input')?.getAttribute('placeholder') ?? ''), undefined, { timeout: 30_000 });
  await input.fill(label);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: label }).first().waitFor({ state: 'visible', timeout: 30_000 });
  await page.keyboard.press('Enter');
  await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: 10_000 }).catch(() => {});
  await page.waitForTimeout(700); // webviews receive the new theme variables and redraw their charts
}

/** One screenshot per theme (light, dark, high contrast), named `<name>-<theme>`; leaves high contrast on. */
export async function shootInThemes(ctx, name, before) {
  const shots = [];
  for (const [id, label] of THEMES) {
    await setTheme(ctx.page, ctx.runCommand, label);
    if (before) await before(id);
    // The pointer rests on the status bar's empty middle, so no tooltip from an earlier click covers the shot.
    const size = ctx.page.viewportSize();
    if (size) await ctx.page.mouse.move(size.width / 2, size.height - 10);
    shots.push(await ctx.screenshot(`${name}-${id}`));
  }
  return shots;
}

/** The sidebar pane of an EM Lab view, by its title. */
export function sidebarPane(page, title) {
  return page.locator('.sidebar .pane', { has: page.locator('.pane-header', { hasText: new RegExp(`^\\s*${title}`, 'i') }) }).first();
}

/** Clicks the EM Lab activity-bar item unless the EM Lab sidebar is already showing. */
export async function showEmLab(page) {
  const title = page.locator('.sidebar .composite.title', { hasText: /EM Lab/i }).first();
  // A click on the active container's item would close the sidebar: click only when EM Lab is not showing.
  for (let i = 0; i < 3; i++) {
    if (await title.isVisible().catch(() => false)) return;
    if (!(await page.locator('.activitybar .action-item.checked a[aria-label^="EM Lab"]').count())) await page.locator('.activitybar .action-item a[aria-label^="EM Lab"]').first().click();
    await title.waitFor({ state: 'visible', timeout: 10_000 }).catch(() => {});
  }
  await title.waitFor({ state: 'visible', timeout: 10_000 });
}
