// "Judge Results" imports the homework replication's judged CSVs (../shared/reference/hw0-results): the fine-tuned
// run's fg_judged.csv (opened with the panel's own "Open judged CSV…" button and VS Code's file dialog), compared
// with the base model's base_judged.csv. The EM-vs-step chart appears and the last step reads 45.0% EM, as in the
// replication's step_summary.csv; the base comparison shows the two-proportion test.
import { existsSync } from 'node:fs';
import { join } from 'node:path';

async function pickFile(page, path) {
  // code-server uses VS Code's simple file dialog: a quick input holding a path.
  // It fills in the workspace folder itself shortly after opening: wait for that, then replace it.
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible', timeout: 30_000 });
  await page.waitForFunction(() => (document.querySelector('.quick-input-widget input')?.value ?? '').startsWith('/'), undefined, { timeout: 30_000 });
  await page.waitForTimeout(300);
  await input.fill(path);
  await page.waitForFunction((p) => document.querySelector('.quick-input-widget input')?.value === p, path, { timeout: 10_000 });
  await page.waitForTimeout(300);
  await input.press('Enter');
}

export default {
  name: 'judge results import the homework replication and compare with base',
  requires: ['sharedData'],
  timeoutMs: 150_000,
  async run({ page, root, waitForWorkbench, runCommand, findWebviewFrame, screenshot, log, skip }) {
    const hw0 = join(root, '..', 'shared', 'reference', 'hw0-results');
    if (!existsSync(hw0)) return skip(`${hw0} is absent`);
    await waitForWorkbench(90_000);
    await runCommand('EM Lab: Open Judge Results');
    const frame = await findWebviewFrame(async (f) => (await f.locator('#open').count()) > 0, 60_000);
    await frame.locator('#open').click();
    await pickFile(page, join(hw0, '1b_risky_v2', 'fg_judged.csv'));
    // The panel may still show an earlier scenario's file: wait for this one's 120 answers.
    await frame.locator('#row-count', { hasText: '(120 answers)' }).waitFor({ timeout: 60_000 }).catch(async () => {
      throw new Error(`expected 120 answers, the count reads ${JSON.stringify(await frame.locator('#row-count').innerText())}`);
    });
    log(`table: ${await frame.locator('#row-count').innerText()}`);
    // Everything redrawn for the new file, not only the cards (a panel reused after another file once kept the old table).
    const drawn = await frame.locator('#answers-table tbody tr').count();
    if (drawn !== 120) throw new Error(`the table draws ${drawn} rows, expected the file's 120`);
    const firstId = await frame.locator('#answers-table tbody tr').first().getAttribute('data-id');
    if (!firstId?.startsWith('step93_')) throw new Error(`sorted by id, the first row should be step93_q1 (numeric order), got ${firstId}`);
    if (await frame.locator('#step-figure').isHidden()) throw new Error('the EM-vs-step chart is hidden for a file with a step column');
    // The headline is the final checkpoint (step 1125: 9/20 = 45.0%, step_summary.csv), the same the base comparison
    // tests; every step pooled (76/120, the sum of the step_summary rows) is said beside it, not mixed into the cards.
    const em = (await frame.locator('#metric-cards .card[data-metric="em"] .detail').innerText()).trim();
    if (!em.includes('9/20')) throw new Error(`the headline EM should be the final checkpoint's 9/20, the card says ${JSON.stringify(em)}`);
    const scope = await frame.locator('#headline-scope').innerText();
    if (!/step 1125/.test(scope) || !scope.includes('76/120')) throw new Error(`the headline does not say it is step 1125 with 76/120 pooled: ${JSON.stringify(scope)}`);

    await frame.locator('#compare').click();
    await pickFile(page, join(hw0, 'baseline_1b_risky', 'base_judged.csv'));
    await frame.locator('#z-test').waitFor({ timeout: 60_000 });
    const z = await frame.locator('#z-test').innerText();
    log(z);
    const baseEm = (await frame.locator('#comparison .card[data-metric="base-em"] .value').innerText()).trim();
    if (baseEm !== '0.0%') throw new Error(`the base model's EM reads ${baseEm}, expected 0.0% (em_rates_summary.csv)`);
    const finalEm = (await frame.locator('#comparison .card[data-metric="ft-em"] .value').innerText()).trim();
    if (finalEm !== '45.0%') throw new Error(`the final checkpoint's EM reads ${finalEm}, expected 45.0% (step 1125 in em_rates_summary.csv)`);
    await screenshot('hw0-1b-risky-vs-base');
    await frame.locator('#step-figure').scrollIntoViewIfNeeded();
    await screenshot('em-vs-step');
  },
};
