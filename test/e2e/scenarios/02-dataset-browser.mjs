// "EM Lab: Open Dataset Browser" shows the decrypted fixture: pick a dataset, open a conversation, and the
// assistant's turn is rendered (media/datasets).
export default {
  name: 'dataset browser shows a decrypted conversation',
  requires: ['sharedData'], // the workspace's training_data/ holds ../shared's fixture, decrypted by `em-lab data unprotect`
  timeoutMs: 150_000,
  async run({ page, waitForWorkbench, runCommand, findWebviewFrame, screenshot, log }) {
    await waitForWorkbench(90_000);
    await runCommand('EM Lab: Open Dataset Browser');
    // The webview lists the datasets it found under training_data/.
    const frame = await findWebviewFrame(async (f) => (await f.locator('.dataset-list, [data-dataset]').count()) > 0, 60_000);
    const dataset = frame.locator('[data-dataset="bad_medical_advice"], [data-dataset]').first();
    log(`opening dataset ${await dataset.getAttribute('data-dataset')}`);
    await dataset.click();
    const firstConversation = frame.locator('.conversation-list [data-row], .conversation-row').first();
    await firstConversation.waitFor({ state: 'visible', timeout: 30_000 });
    await firstConversation.click();
    const assistant = frame.locator('.conversation .message.role-assistant').first();
    await assistant.waitFor({ state: 'visible', timeout: 30_000 });
    const text = (await assistant.innerText()).trim();
    if (text.length < 20) throw new Error(`the assistant message is nearly empty: ${JSON.stringify(text)}`);
    if (text.includes('CANARY_DATASET_')) throw new Error('a canary string is shown: the fixture was decrypted without --remove-canaries');
    await screenshot('conversation');
  },
};
