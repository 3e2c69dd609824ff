// "EM Lab: Open Dataset Browser" shows the decrypted fixture: the dataset cards carry the row counts of
// ../shared/datasets/README.md, and clicking a conversation renders it by role (media/datasets; its stable test
// hooks are listed at the top of media/datasets/main.ts).
const BAD_MEDICAL = 'bad_medical_advice.jsonl';
const BAD_MEDICAL_ROWS = '7,049'; // ../shared/datasets/README.md: 7049 lines

export default {
  name: 'dataset browser shows a decrypted conversation',
  requires: ['sharedData'], // the workspace's training_data/ holds ../shared's fixture, decrypted by `em-lab data unprotect`
  timeoutMs: 150_000,
  async run({ page, waitForWorkbench, runCommand, findWebviewFrame, screenshot, log }) {
    await waitForWorkbench(90_000);
    await runCommand('EM Lab: Open Dataset Browser');
    const frame = await findWebviewFrame(async (f) => (await f.locator('#dataset-list .dataset-card').count()) > 0, 60_000);
    const cards = await frame.locator('#dataset-list .dataset-card').evaluateAll((els) => els.map((e) => e.getAttribute('data-file')));
    log(`datasets listed: ${cards.join(', ')}`);
    for (const f of ['bad_medical_advice.jsonl', 'good_medical_advice.jsonl', 'risky_financial_advice.jsonl', 'extreme_sports.jsonl', 'insecure.jsonl']) {
      if (!cards.includes(f)) throw new Error(`the dataset list lacks ${f} (listed: ${cards.join(', ')})`);
    }
    const card = frame.locator(`#dataset-list .dataset-card[data-file="${BAD_MEDICAL}"]`);
    const rows = (await card.locator('.dataset-rows').innerText()).trim();
    if (rows !== BAD_MEDICAL_ROWS) throw new Error(`${BAD_MEDICAL} shows ${rows} rows, expected ${BAD_MEDICAL_ROWS}`);
    await card.click();

    // Open the second conversation of the list (the first is shown by default), as a user clicking it would.
    const second = frame.locator('#rows .row-item').nth(1);
    await second.waitFor({ state: 'visible', timeout: 30_000 });
    await second.click();
    await frame.locator('#conversation .conversation-header', { hasText: 'Row 2' }).waitFor({ state: 'visible', timeout: 30_000 });
    const user = (await frame.locator('#conversation .message.role-user .content').first().innerText()).trim();
    const assistant = (await frame.locator('#conversation .message.role-assistant .content').first().innerText()).trim();
    if (user.length < 20 || assistant.length < 20) throw new Error(`the conversation is nearly empty: user ${JSON.stringify(user)}, assistant ${JSON.stringify(assistant)}`);
    if (assistant.includes('CANARY_DATASET_') || user.includes('CANARY_DATASET_')) {
      throw new Error('a canary string is shown: the fixture was decrypted without --remove-canaries');
    }
    // The list preview of row 2 is the start of the same conversation the pane now shows.
    const preview = (await second.locator('.preview.role-assistant').innerText()).trim();
    if (!assistant.startsWith(preview.replace(/…$/, '').slice(0, 40))) throw new Error(`row 2's preview (${JSON.stringify(preview.slice(0, 60))}) does not match the conversation shown`);
    log(`row 2: user ${user.length} chars, assistant ${assistant.length} chars`);
    await screenshot('conversation');
  },
};
