// "EM Lab: Open Chat Sandbox" on tiny-llama with a random LoRA adapter saved as a run checkpoint in the workspace:
// the left pane is the base, the right pane the checkpoint (listed from em-lab-runs/), one prompt streams into
// both, and each answer is labelled with its model, adapter and sampling. Stable hooks: #pane-left/#pane-right
// .message.assistant, #prompt, #send (media/chat/view.ts).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

export default {
  name: 'chat sandbox streams base and adapter side by side',
  timeoutMs: 300_000,
  async run({ page, root, workspaceDir, waitForWorkbench, runCommand, findWebviewFrame, screenshot, log }) {
    // A checkpoint where the trainer writes them: <runsDir>/<run>/checkpoints/<step>/ (runsDir = <workspace>/em-lab-runs).
    const adapterDir = join(workspaceDir, 'em-lab-runs', 'e2e-random-run', 'checkpoints', '10');
    const made = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'test', 'support', 'randomAdapter.ts'), adapterDir], { cwd: root, encoding: 'utf8' });
    if (made.status !== 0) throw new Error(`could not write the random adapter: ${made.stderr || made.stdout}`);
    log(made.stdout.trim());

    await waitForWorkbench(90_000);
    await runCommand('EM Lab: Open Chat Sandbox');
    const frame = await findWebviewFrame(async (f) => (await f.locator('#prompt').count()) > 0, 60_000);
    // tiny-llama is built on first use in the runtime (a few seconds), then both panes load from one session.
    await frame.locator('#pane-left .pane-status', { hasText: 'Ready' }).waitFor({ timeout: 180_000 });
    await frame.locator('#pane-right .pane-status', { hasText: 'Ready' }).waitFor({ timeout: 60_000 });
    const leftStatus = await frame.locator('#pane-left .pane-status').innerText();
    if (!leftStatus.includes('random weights')) throw new Error(`the left pane does not warn that tiny-llama writes gibberish: ${JSON.stringify(leftStatus)}`);
    await screenshot('loaded');

    // Sampling lives in the collapsible settings section (the toolbar stays one line).
    await frame.locator('#settings-toggle').click();
    await frame.locator('#seed input').fill('7');
    await frame.locator('#max-new-tokens input').fill('60');
    await frame.locator('#prompt').fill('Hello! What should I do about a headache?');
    await frame.locator('#send').click();

    // Both panes stream: text appears while the Stop button is still enabled.
    const left = frame.locator('#pane-left .message.assistant .content').last();
    const right = frame.locator('#pane-right .message.assistant .content').last();
    await frame.waitForFunction(() => {
      const l = document.querySelector('#pane-left .message.assistant:last-child .content');
      const r = document.querySelector('#pane-right .message.assistant:last-child .content');
      return (l?.textContent ?? '').replace('…', '').length > 0 && (r?.textContent ?? '').replace('…', '').length > 0;
    }, undefined, { timeout: 60_000 });
    log(`streaming: left ${JSON.stringify((await left.innerText()).slice(0, 40))}, right ${JSON.stringify((await right.innerText()).slice(0, 40))}`);
    await screenshot('streaming');

    // Finished: every answer carries its provenance line.
    await frame.locator('#pane-left .message.assistant .meta').last().waitFor({ timeout: 120_000 });
    await frame.locator('#pane-right .message.assistant .meta').last().waitFor({ timeout: 120_000 });
    const leftMeta = await frame.locator('#pane-left .message.assistant .meta').last().innerText();
    const rightMeta = await frame.locator('#pane-right .message.assistant .meta').last().innerText();
    log(`left: ${leftMeta}`);
    log(`right: ${rightMeta}`);
    if (!/no adapter/.test(leftMeta) || !/seed 7/.test(leftMeta)) throw new Error(`left label lacks "no adapter" / "seed 7": ${leftMeta}`);
    if (!/adapter e2e-random-run\/checkpoints\/10/.test(rightMeta) || !/step 10/.test(rightMeta)) throw new Error(`right label lacks the checkpoint: ${rightMeta}`);
    const [lt, rt] = [await left.innerText(), await right.innerText()];
    if (!lt.trim() || !rt.trim()) throw new Error('an answer is empty');
    if (lt === rt) throw new Error('base and adapter wrote the same text: the adapter was not applied');
    // Answers are text with whitespace made visible: no leading blank block, no run of blank lines, no U+FFFD boxes.
    const shown = await frame.locator('.message.assistant .content').evaluateAll((els) => els.map((e) => e.textContent ?? ''));
    for (const t of shown) {
      if (/^\s*\n/.test(t) || /\n\s*\n\s*\n/.test(t) || t.includes('\uFFFD')) throw new Error(`an answer shows blank lines or U+FFFD as is: ${JSON.stringify(t.slice(0, 80))}`);
    }
    log(`whitespace markers shown: ${await frame.locator('.message.assistant .ws').count()}`);
    await screenshot('answered');

    // Stop: a long answer is cut between tokens in both panes and labelled as stopped, keeping its text.
    await frame.locator('#max-new-tokens input').fill('2000');
    await frame.locator('#prompt').fill('Please write a very long essay.');
    await frame.locator('#send').click();
    await frame.waitForFunction(() => {
      const texts = [...document.querySelectorAll('#pane-left .message.assistant:last-child .content, #pane-right .message.assistant:last-child .content')].map((n) => (n.textContent ?? '').replace('…', ''));
      return texts.length === 2 && texts.every((t) => t.length > 0);
    }, undefined, { timeout: 60_000 });
    await frame.locator('#stop').click();
    for (const pane of ['left', 'right']) {
      const meta = frame.locator(`#pane-${pane} .message.assistant`).last().locator('.meta');
      await meta.waitFor({ timeout: 30_000 });
      const text = await meta.innerText();
      log(`${pane} after stop: ${text}`);
      if (!/stopped/.test(text)) throw new Error(`${pane} pane: the stopped answer is not labelled as stopped: ${text}`);
      const tokens = Number(/(\d+) tokens?/.exec(text)?.[1]);
      if (!(tokens > 0 && tokens < 2000)) throw new Error(`${pane} pane: ${tokens} tokens after stop`);
    }
    if (await frame.locator('#send[disabled]').count()) throw new Error('Send stays disabled after stopping');
    await screenshot('stopped');

    // Hidden mid-answer (another editor in front destroys the webview: retainContextWhenHidden is off) and shown
    // again: the host replays what streamed meanwhile and the answers finish normally.
    await frame.locator('#max-new-tokens input').fill('120');
    await frame.locator('#prompt').fill('One more, please.');
    await frame.locator('#send').click();
    await frame.waitForFunction(() => (document.querySelector('#pane-left .message.assistant:last-child .content')?.textContent ?? '').replace('…', '').length > 0, undefined, { timeout: 60_000 });
    await runCommand('File: New Untitled Text File');
    await page.waitForTimeout(3000);
    await page.locator('.tabs-container .tab', { hasText: 'EM Lab Chat Sandbox' }).first().click();
    const again = await findWebviewFrame(async (f) => (await f.locator('#pane-right .message.assistant').count()) >= 3, 60_000);
    for (const pane of ['left', 'right']) {
      const meta = again.locator(`#pane-${pane} .message.assistant`).last().locator('.meta');
      await meta.waitFor({ timeout: 120_000 });
      const text = await meta.innerText();
      log(`${pane} after hide/show: ${text}`);
      if (!/120 tokens/.test(text) || /Interrupted/.test(text)) throw new Error(`${pane} pane: the answer did not survive hiding the view: ${text}`);
    }
    await screenshot('after-hide-and-show');
  },
};
