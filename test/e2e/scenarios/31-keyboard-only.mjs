// Every EM Lab view with the keyboard only, and a screenshot of each in light, dark and high contrast: in each webview, Tab from the top reaches every control on the page
// and each control has an accessible name (lib/keyboard.mjs: Chromium's accessibility tree). Runs after the
// end-to-end scenario, so the report and the chat have an experiment to show; a view whose data is missing is
// audited as it shows itself empty.
import { keyboardAudit } from './lib/keyboard.mjs';
import { setTheme, shootInThemes } from './lib/views.mjs';

const VIEWS = [
  { label: 'New Experiment form', command: 'EM Lab: New Experiment', ready: '#new-experiment #preset vscode-radio' },
  { label: 'Experiment report', command: 'EM Lab: Open Experiment Report', ready: '#report', needs: 'an experiment (30-experiment-end-to-end makes one)' },
  { label: 'Sidebar chat', command: 'EM Lab: Open in Chat', ready: '.chat.surface-sidebar #prompt' },
  { label: 'Chat sandbox (editor tab)', command: 'EM Lab: Open Chat Sandbox', ready: '.chat.surface-panel #prompt' },
  { label: 'Training', command: 'EM Lab: Train LoRA Adapter', ready: '#train-form, #run:not(.hidden)', form: true },
  { label: 'Judge results', command: 'EM Lab: Open Judge Results', ready: '#open' },
  { label: 'Dataset browser', command: 'EM Lab: Open Dataset Browser', ready: '#dataset-list' },
  { label: 'Check Environment', command: 'EM Lab: Check Environment', ready: '#checks .check' },
];

export default {
  name: 'every view works with the keyboard only',
  timeoutMs: 420_000,
  async run(ctx) {
    const { page, waitForWorkbench, runCommand, findWebviewFrame, log } = ctx;
    await waitForWorkbench(90_000);
    const failures = [];
    for (const v of VIEWS) {
      const selector = v.ready;
      let frame;
      try {
        await page.keyboard.press('Escape');
        await runCommand(v.command);
        frame = await findWebviewFrame(async (f) => (await f.locator(selector).count()) > 0, v.needs ? 30_000 : 90_000).catch((err) => {
          throw v.needs ? new Error(`${v.label} did not open; it needs ${v.needs}`) : err;
        });
        await page.waitForTimeout(800); // toolkit components upgrade and render their shadow DOM
        const r = await keyboardAudit(page, frame, { label: v.label, log });
        log(`  ${v.label}: ${r.names.slice(0, 8).join(', ')}${r.names.length > 8 ? ', …' : ''}`);
        // The training view shows the last run; its start form is a view of its own: "New run…" in the run picker.
        if (v.form && !(await frame.locator('#start-section').isVisible())) {
          await frame.locator('#runs').click();
          await frame.locator('#runs vscode-option[value=""]').click();
          await frame.locator('#start-section').waitFor({ state: 'visible', timeout: 10_000 });
          await keyboardAudit(page, frame, { label: `${v.label} (start form)`, log });
        }
        // The audit left the page scrolled to its last control: show it from the top.
        await frame.evaluate(() => {
          (document.activeElement instanceof HTMLElement ? document.activeElement : document.body).blur();
          window.scrollTo(0, 0);
        });
        await shootInThemes(ctx, v.label);
      } catch (err) {
        failures.push(err instanceof Error ? err.message : String(err));
        log(`  ${v.label}: FAILED ${failures.at(-1)}`);
      }
      await runCommand('View: Close All Editors').catch(() => {});
    }
    await setTheme(page, runCommand, 'Dark Modern');
    if (failures.length) throw new Error(failures.join('\n'));
  },
};
