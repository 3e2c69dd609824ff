// "EM Lab: Check Environment" runs the doctor in the real runtime process (forked by the extension host) and shows
// the checklist: every check listed, ONNX Runtime ok, required checks pass, OpenAI unreachable offline (no route
// here), fix-it buttons present. Stable hooks are listed at the top of media/doctor/main.ts.
const CHECK_IDS = ['node', 'dotenv', 'openai-key', 'openai-api', 'hf-token', 'hf-api', 'onnxruntime', 'cuda', 'training-data', 'disk'];

export default {
  name: 'check environment shows the doctor checklist',
  timeoutMs: 150_000,
  async run({ page, waitForWorkbench, runCommand, findWebviewFrame, screenshot, log }) {
    await waitForWorkbench(90_000);
    await runCommand('EM Lab: Check Environment');
    const frame = await findWebviewFrame(async (f) => (await f.locator('#checks .check').count()) > 0, 90_000);
    const ids = await frame.locator('#checks .check').evaluateAll((els) => els.map((e) => e.getAttribute('data-id')));
    if (JSON.stringify(ids) !== JSON.stringify(CHECK_IDS)) throw new Error(`checks listed: ${ids.join(', ')}; expected ${CHECK_IDS.join(', ')}`);
    const status = async (id) => frame.locator(`#checks .check[data-id="${id}"]`).getAttribute('data-status');
    if ((await status('onnxruntime')) !== 'ok') throw new Error(`ONNX Runtime check: ${await frame.locator('#checks .check[data-id="onnxruntime"] .detail').innerText()}`);
    if ((await status('node')) !== 'ok') throw new Error('the Node check did not pass inside VS Code');
    const ok = await frame.locator('#summary').getAttribute('data-ok');
    if (ok !== 'true') throw new Error(`required checks failed: ${await frame.locator('#summary').innerText()}`);
    const openai = (await frame.locator('#checks .check[data-id="openai-api"] .detail').innerText()).trim();
    log(`openai-api: ${openai}`);
    if (!/^Unreachable|is reachable/.test(openai)) throw new Error(`unexpected OpenAI result: ${openai}`);
    // The key check offers the secrets command as its fix.
    const fixes = await frame.locator('.fix-button').evaluateAll((els) => els.map((e) => e.getAttribute('data-action')));
    log(`fix actions offered: ${fixes.join(', ')}`);
    if (!fixes.includes('setOpenAiKey')) throw new Error('no "Set OpenAI API Key" fix offered for a missing key');
    // The status bar shows the runtime that answered.
    await page.locator('.statusbar-item', { hasText: 'EM Lab' }).first().waitFor({ state: 'visible', timeout: 10_000 });
    await screenshot('checklist');

    // The fix-it flow end to end: the button runs "Set OpenAI API Key" (host allowlist), the key goes to
    // SecretStorage, the idle runtime restarts with it in its environment, and the re-run names the source.
    await frame.locator('.fix-button[data-action="setOpenAiKey"]').click();
    const input = page.locator('.quick-input-widget input');
    await input.waitFor({ state: 'visible', timeout: 30_000 });
    await input.fill('sk-proj-e2eTestKey0123456789abcdWXYZ');
    await page.keyboard.press('Enter');
    const keyDetail = frame.locator('#checks .check[data-id="openai-key"] .detail', { hasText: 'SecretStorage' });
    await keyDetail.waitFor({ state: 'visible', timeout: 90_000 });
    const shown = (await keyDetail.innerText()).trim();
    log(`openai-key after setting it: ${shown}`);
    if (shown !== 'Set from VS Code SecretStorage (…WXYZ).') throw new Error(`unexpected key detail: ${shown}`);
    if ((await frame.locator('#checks').innerText()).includes('e2eTestKey')) throw new Error('the key is shown in the view');
    await screenshot('key-from-secret-storage');
    await runCommand('EM Lab: Clear OpenAI API Key');
  },
};
