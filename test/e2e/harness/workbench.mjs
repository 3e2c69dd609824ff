// Driving the code-server workbench with playwright-core and Debian's Chromium (../shared/docs/vscode-e2e.md).
// Every wait here has a timeout: a scenario that can't find what it looks for fails, it never hangs CI.
import { chromium } from 'playwright-core';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const CHROMIUM_PATH = '/usr/bin/chromium';
// Without the background-networking flags Chromium keeps trying Google's hosts, which this closed network refuses.
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'];
export const ACTIVITY_BAR_LABEL = 'EM Lab';

export function chromiumInstallHint() {
  return `Chromium is not installed at ${CHROMIUM_PATH}. Install Debian's build: sudo apt-get install -y chromium ` +
    '(never `npx playwright install`: it downloads a browser, which this network refuses).';
}

/** A persistent context in a fresh profile folder (Playwright refuses --user-data-dir in launch() args). */
export async function launchBrowser() {
  if (!existsSync(CHROMIUM_PATH)) throw new Error(chromiumInstallHint());
  const profile = mkdtempSync(join(tmpdir(), 'em-lab-e2e-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1400, height: 900 },
    timeout: 60_000,
  });
  context.setDefaultTimeout(30_000);
  return { context, profile };
}

/**
 * The workbench URL for `folder`; with `extensionPath` the window loads that folder as an extension in development
 * mode (code-server has no --extensionDevelopmentPath flag; VS Code's own browser integration tests use `payload`).
 * With `testsPath` too, the extension host runs that module's run() and exits.
 */
export function workbenchUrl({ baseUrl, folder, extensionPath, testsPath }) {
  const authority = new URL(baseUrl).host; // exactly as in the browser URL, or the remote file system refuses it
  const payload = [['skipWelcome', 'true']];
  if (extensionPath) payload.push(['extensionDevelopmentPath', `vscode-remote://${authority}${extensionPath}`]);
  if (testsPath) payload.push(['extensionTestsPath', `vscode-remote://${authority}${testsPath}`]);
  return `${baseUrl}/?folder=${encodeURIComponent(folder)}&payload=${encodeURIComponent(JSON.stringify(payload))}`;
}

/** Waits for the workbench and for the EM Lab activity-bar item (up to 90 s: 9 s idle, 12-18 s on a busy machine). */
export async function waitForWorkbench(page, timeoutMs = 90_000) {
  await page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: timeoutMs });
  await activityBarItem(page).waitFor({ state: 'visible', timeout: timeoutMs });
}

export function activityBarItem(page, label = ACTIVITY_BAR_LABEL) {
  return page.locator(`.activitybar [aria-label="${label}"], .activitybar [aria-label^="${label} ("]`).first();
}

/**
 * Runs a command by its palette title ("EM Lab: Open Dataset Browser") through F1, as a user would. The palette
 * lists the commands known when it opens: right after the window loads, an extension's commands may register a
 * moment later, so a palette that does not show the title is closed and reopened until `timeoutMs`.
 */
export async function runCommand(page, title, timeoutMs = 30_000) {
  const input = page.locator('.quick-input-widget input');
  // The list filters fuzzily: pick the row whose label is exactly the title, not merely one that contains it.
  const row = page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await dismissQuickInput(page);
    await page.keyboard.press('F1');
    await input.waitFor({ state: 'visible', timeout: Math.max(1000, deadline - Date.now()) });
    await input.fill(`>${title}`);
    try {
      await row.waitFor({ state: 'visible', timeout: Math.max(1000, Math.min(5000, deadline - Date.now())) });
      break;
    } catch {
      if (Date.now() < deadline) continue;
      const shown = await page.locator('.quick-input-list .monaco-list-row').allInnerTexts().catch(() => []);
      await dismissQuickInput(page);
      throw new Error(`command "${title}" is not in the command palette (rows shown: ${JSON.stringify(shown.slice(0, 8))})`);
    }
  }
  await row.click({ timeout: Math.max(1000, deadline - Date.now()) });
}

async function dismissQuickInput(page) {
  if (await page.locator('.quick-input-widget input').isVisible().catch(() => false)) await page.keyboard.press('Escape');
}

/**
 * True for a webview's inner document. VS Code creates it as id `pending-frame` and renames it `active-frame` once
 * loaded; Playwright reports the id it had when attached, so both names occur. Its URL is .../pre/fake.html.
 */
function isWebviewContentFrame(frame) {
  return ['active-frame', 'pending-frame'].includes(frame.name()) || frame.url().includes('/webview/browser/pre/fake.html');
}

/**
 * A webview's own document: webviews are an outer iframe.webview holding an inner frame with the extension's HTML.
 * Polls every such frame until `predicate(frame)` resolves true (e.g. "contains #dataset-list").
 */
export async function findWebviewFrame(page, predicate, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const frame of page.frames()) {
      if (!isWebviewContentFrame(frame) || frame.isDetached()) continue;
      try {
        if (await predicate(frame)) return frame;
      } catch { /* frame navigated or detached mid-check: look again */ }
    }
    await page.waitForTimeout(250);
  }
  const count = page.frames().filter(isWebviewContentFrame).length;
  throw new Error(`no webview frame matched within ${timeoutMs / 1000} s (${count} webview frame(s) open)`);
}

/** Rejects after `ms` with a message naming what timed out; the harness's outer guard against hangs. */
export function withTimeout(promise, ms, what) {
  let timer;
  const guard = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${Math.round(ms / 1000)} s`)), ms);
  });
  return Promise.race([promise, guard]).finally(() => clearTimeout(timer));
}
