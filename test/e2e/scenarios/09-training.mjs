// "EM Lab: Train LoRA Adapter": start a tiny run from the form (tiny-llama on a slice of bad_medical), watch the
// step counter and loss chart move, cancel (checkpoint written, status cancelled), resume, and see it finish.
// Stable hooks: media/training/main.ts and media/training/form.ts.
export default {
  name: 'training view starts, cancels and resumes a tiny run',
  requires: ['sharedData'],
  timeoutMs: 420_000,
  async run({ waitForWorkbench, runCommand, findWebviewFrame, screenshot, log }) {
    await waitForWorkbench(90_000);
    await runCommand('EM Lab: Train LoRA Adapter');
    const frame = await findWebviewFrame(async (f) => (await f.locator('#train-form [data-field="loraRank"]').count()) > 0, 60_000);
    await frame.locator('[data-domain="bad_medical"]').click();
    if (!(await frame.locator('[data-domain="bad_medical"]').evaluate((e) => e.checked))) throw new Error('ticking bad_medical did not check it');
    const set = async (field, value) => frame.locator(`#train-form [data-field="${field}"] input`).fill(String(value));
    for (const [field, value] of Object.entries({ sampleSize: 120, maxSteps: 40, numEpochs: 1, maxLength: 128, loraRank: 2, warmupSteps: 0, batchSize: 2, gradientAccumulationSteps: 1, learningRate: 0.01, saveSteps: 2, loraDropout: 0 })) await set(field, value);
    // Start is in the footer, visible without scrolling however long the form is.
    const fold = await frame.locator('#start').evaluate((b) => ({ bottom: b.getBoundingClientRect().bottom, height: window.innerHeight, page: document.documentElement.scrollHeight }));
    if (fold.bottom > fold.height) throw new Error(`Start is below the fold: ${JSON.stringify(fold)}`);
    if (fold.page <= fold.height) throw new Error(`the form is not taller than the view, so this check shows nothing: ${JSON.stringify(fold)}`);
    await screenshot('form');
    await frame.locator('#start').click();
    const status = frame.locator('#run-status');
    await frame.locator('#run-status[data-status="running"]').waitFor({ timeout: 60_000 });
    // wait until a few steps are on the chart
    const stepText = frame.locator('#run-step');
    const deadline = Date.now() + 180_000;
    for (;;) {
      const m = /step (\d+)\//.exec(await stepText.innerText());
      if (m && Number(m[1]) >= 3) break;
      if (Date.now() > deadline) throw new Error(`the run did not reach step 3: ${await status.innerText()} / ${await stepText.innerText()}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    await screenshot('running');
    await frame.locator('#cancel').click();
    await frame.locator('#run-status[data-status="cancelled"]').waitFor({ timeout: 90_000 });
    const cancelledAt = await stepText.innerText();
    log(`cancelled: ${cancelledAt}`);
    if ((await frame.locator('#checkpoints li').count()) < 1) throw new Error('no checkpoint listed after cancel');
    await frame.locator('#resume').click();
    await frame.locator('#run-status[data-status="finished"]').waitFor({ timeout: 180_000 });
    const done = await stepText.innerText();
    if (!/step 40\/40/.test(done)) throw new Error(`finished but shows ${done}`);
    log(`finished: ${done}`);
    await screenshot('finished');
  },
};
