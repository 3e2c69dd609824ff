// Phase (b): UI scenarios (test/e2e/scenarios/*.mjs) in one workbench window with EM Lab as installed from the
// VSIX (with --from-source: loaded from the checkout in development mode). Scenarios run in file-name order, share
// the window (opening one costs 10-20 s on 2 cores), and each gets a hard timeout; after each, editors are closed
// and the Explorer shown, so the next starts from a plain workbench.
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { findWebviewFrame, runCommand, waitForWorkbench, withTimeout, workbenchUrl } from './workbench.mjs';

export class ScenarioSkip extends Error {}

/** Loads every scenario module; `only` (a substring of the file or scenario name) narrows the list. */
export async function loadScenarios(root, only) {
  const dir = join(root, 'test', 'e2e', 'scenarios');
  const files = readdirSync(dir).filter((f) => f.endsWith('.mjs')).sort();
  const scenarios = [];
  for (const file of files) {
    const mod = await import(pathToFileURL(join(dir, file)).href);
    const s = mod.default;
    if (!s || typeof s.run !== 'function' || typeof s.name !== 'string') {
      throw new Error(`test/e2e/scenarios/${file} must export default { name, run(ctx) } (see docs/e2e.md)`);
    }
    if (!only || file.includes(only) || s.name.includes(only)) scenarios.push({ file, ...s });
  }
  return scenarios;
}

function slug(text) {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
}

/** Returns one result per scenario: { name, status: 'passed' | 'failed' | 'skipped', ms, message?, screenshots }. */
export async function runUiScenarios({ context, baseUrl, workspaceDir, userSettingsFile, root, extensionDevelopmentPath, installedExtensionDir, scenarios, sharedData, resultsDir, log }) {
  const page = await context.newPage();
  const consoleLines = [];
  page.on('console', (m) => { if (m.type() === 'error') consoleLines.push(`[${m.type()}] ${m.text()}`); });
  page.on('pageerror', (e) => consoleLines.push(`[pageerror] ${e.message}`));
  const results = [];
  // Optional `prepare({ workspaceDir, userSettingsFile, root, log })` hooks run before the window opens, so what they
  // write into the workspace (e.g. .vscode/settings.json) or the User settings (machine-scoped settings such as
  // emLab.judge.baseUrl) is read at startup instead of through VS Code's asynchronous reload.
  // What a hook returns is handed to its scenario as ctx.prepared and to its optional `dispose(prepared)`.
  const prepared = new Map();
  for (const s of scenarios) {
    if (typeof s.prepare !== 'function') continue;
    try {
      prepared.set(s, { value: await s.prepare({ workspaceDir, userSettingsFile, root, log: (msg) => log(`  ${msg}`) }) });
    } catch (err) {
      prepared.set(s, { error: err instanceof Error ? err.message : String(err) });
    }
  }
  const disposeAll = async () => {
    for (const [s, p] of prepared) if ('value' in p && typeof s.dispose === 'function') await Promise.resolve(s.dispose(p.value)).catch(() => {});
  };
  try {
    await page.goto(workbenchUrl({ baseUrl, folder: workspaceDir, extensionPath: extensionDevelopmentPath }), { timeout: 60_000 });
    // The EM Lab activity-bar item appears once the extension's contributions are in: before that the palette
    // doesn't list EM Lab commands yet, so no scenario starts earlier.
    await waitForWorkbench(page, 120_000);
  } catch (err) {
    await page.screenshot({ path: join(resultsDir, 'workbench-FAILED.png') }).catch(() => {});
    const message = `the workbench did not load with EM Lab in it: ${err instanceof Error ? err.message : String(err)}`;
    await page.close().catch(() => {});
    await disposeAll();
    return scenarios.map((s) => ({ name: s.name, status: 'failed', ms: 0, message, screenshots: [] }));
  }

  for (const scenario of scenarios) {
    const started = Date.now();
    const consoleMark = consoleLines.length;
    const screenshots = [];
    const missing = (scenario.requires ?? []).includes('sharedData') && !sharedData.available;
    if (missing && sharedData.skipped) {
      log(`SKIP ${scenario.name}: ${sharedData.reason}`);
      results.push({ name: scenario.name, status: 'skipped', ms: 0, message: sharedData.reason, screenshots });
      continue;
    }
    const ctx = {
      page,
      workspaceDir,
      root,
      installedExtensionDir,
      sharedData,
      log: (msg) => log(`  ${msg}`),
      waitForWorkbench: (timeoutMs) => waitForWorkbench(page, timeoutMs),
      runCommand: (title, timeoutMs) => runCommand(page, title, timeoutMs),
      findWebviewFrame: (predicate, timeoutMs) => findWebviewFrame(page, predicate, timeoutMs),
      screenshot: async (name) => {
        const path = join(resultsDir, `${slug(scenario.name)}-${slug(name)}.png`);
        await page.screenshot({ path, timeout: 30_000 });
        screenshots.push(path);
        return path;
      },
      skip: (reason) => { throw new ScenarioSkip(reason); },
      prepared: prepared.get(scenario)?.value,
    };
    try {
      if (prepared.get(scenario)?.error) throw new Error(`its prepare() hook failed: ${prepared.get(scenario).error}`);
      if (missing) throw new Error(`needs the decrypted fixture, which could not be prepared: ${sharedData.reason}`);
      await withTimeout(Promise.resolve().then(() => scenario.run(ctx)), scenario.timeoutMs ?? 120_000, `scenario "${scenario.name}"`);
      results.push({ name: scenario.name, status: 'passed', ms: Date.now() - started, screenshots });
      log(`PASS ${scenario.name} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (err instanceof ScenarioSkip) {
        results.push({ name: scenario.name, status: 'skipped', ms: Date.now() - started, message, screenshots });
        log(`SKIP ${scenario.name}: ${message}`);
      } else {
        // What the user would have seen: VS Code's notifications (often the real error) and the page's console
        // errors during this scenario; the notification center stays open for the failure screenshot.
        const notes = await openNotifications(page);
        const errors = consoleLines.slice(consoleMark).filter((l) => !l.includes('Failed to load resource')).slice(-5);
        const details = [message, ...notes.map((n) => `notification: ${n}`), ...errors.map((e) => `console: ${e}`)].join('\n    ');
        await ctx.screenshot('FAILED').catch(() => {});
        results.push({ name: scenario.name, status: 'failed', ms: Date.now() - started, message: details, screenshots });
        log(`FAIL ${scenario.name}: ${details}`);
      }
    }
    await resetWorkbench(page);
  }
  writeFileSync(join(resultsDir, 'ui-console-errors.log'), consoleLines.join('\n') + '\n');
  await disposeAll();
  await page.close({ runBeforeUnload: false }).catch(() => {});
  return results;
}

/** Opens the notification center and returns its messages (best effort, never throws). */
async function openNotifications(page) {
  try {
    await page.keyboard.press('Escape');
    await runCommand(page, 'Notifications: Show Notifications', 10_000);
    await page.waitForTimeout(500);
    return (await page.locator('.notifications-center .notification-list-item-message').allInnerTexts()).map((t) => t.trim()).filter(Boolean);
  } catch {
    return [];
  }
}

/**
 * Best effort: a scenario that left a dialog, the palette, editors or the EM Lab sidebar open must not break the
 * next one, which starts as a fresh window does: no editors, the Explorer in the sidebar (so clicking the EM Lab
 * activity-bar item opens EM Lab rather than toggling it closed).
 */
async function resetWorkbench(page) {
  try {
    await page.keyboard.press('Escape');
    await runCommand(page, 'View: Close All Editors', 10_000);
    await runCommand(page, 'View: Show Explorer', 10_000);
    await runCommand(page, 'Notifications: Clear All Notifications', 10_000);
    await page.keyboard.press('Escape');
  } catch { /* the next scenario reports its own trouble */ }
}
