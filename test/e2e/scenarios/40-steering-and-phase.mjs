// Issue 16 in real VS Code: the chat sandbox's steering control on one pane (a direction file, layer, strength
// slider, ablate), the steered answer labelled as such beside the unsteered pane, shot in light, dark and high
// contrast; then the training view's phase-transition charts for a real rank-1 run (sharpest rotation marked).
// Fixtures (test/support/steeringFixtures.ts): a random tiny-llama direction file and a rank-1 run with 4 checkpoints.
// Stable hooks: media/chat/steeringControl.ts (#steer-left...), media/training/phaseCharts.ts (#phase...).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { shootInThemes } from './lib/views.mjs';

export default {
  name: 'steering control in the chat sandbox and the phase transition in the training view',
  timeoutMs: 360_000,
  async run(ctx) {
    const { page, root, workspaceDir, waitForWorkbench, findWebviewFrame, screenshot, log } = ctx;
    // The keyboard-only scenario before this one may leave the focus in a webview (the sidebar chat), which swallows
    // F1: open the palette once with whatever works (as lib/views.mjs's setTheme does), close it, then run the command.
    const runCommand = async (title) => {
      const input = page.locator('.quick-input-widget input');
      const openers = [() => page.keyboard.press('F1'), () => page.keyboard.press('Control+Shift+P'), () => page.locator('.command-center').first().click({ timeout: 5_000 })];
      for (const open of openers) {
        await open().catch(() => undefined);
        if (await input.waitFor({ state: 'visible', timeout: 5_000 }).then(() => true, () => false)) break;
      }
      await page.keyboard.press('Escape');
      await ctx.runCommand(title);
    };
    const storage = mkdtempSync(join(tmpdir(), 'emlab-e2e-steer-'));
    try {
      const made = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'test', 'support', 'steeringFixtures.ts'), workspaceDir, storage], { cwd: root, encoding: 'utf8' });
      if (made.status !== 0) throw new Error(`could not write the steering fixtures: ${made.stderr || made.stdout}`);
      log(made.stdout.trim());
    } finally {
      rmSync(storage, { recursive: true, force: true });
    }
    const direction = join(workspaceDir, 'directions', 'random.safetensors');
    const runDir = join(workspaceDir, 'em-lab-runs', 'e2e-phase-run');

    await waitForWorkbench(90_000);
    await runCommand('EM Lab: Open Chat Sandbox');
    const frame = await findWebviewFrame(async (f) => (await f.locator('.chat.surface-panel #steer-left').count()) > 0, 60_000);
    await frame.locator('#pane-left .pane-status', { hasText: 'Ready' }).waitFor({ timeout: 180_000 });
    if (!(await frame.locator('#settings').evaluate((d) => d.open))) await frame.locator('#settings-toggle').click();
    await frame.locator('#seed input').fill('11');
    await frame.locator('#max-new-tokens input').fill('24');
    const prompt = 'Tell me three thoughts about humans and AI.';
    // Each question in a fresh conversation (Clear) with the same seed, so answers differ only by the steering.
    const ask = async () => {
      await frame.locator('#clear').click();
      await frame.locator('#prompt').fill(prompt);
      await frame.locator('#send').click();
      await frame.locator('#pane-left .message.assistant .meta').first().waitFor({ timeout: 120_000 });
      await frame.locator('#send:not([disabled])').waitFor({ timeout: 120_000 });
      const last = frame.locator('#pane-left .message.assistant').last();
      return { text: await last.locator('.content').innerText(), meta: await last.locator('.meta').innerText() };
    };
    const plain = await ask();
    log(`unsteered: ${plain.meta}`);
    if (/steered/.test(plain.meta)) throw new Error(`an unsteered answer is labelled as steered: ${plain.meta}`);

    // The control: collapsed to one summary line until opened; a file path typed (Enter), its layers offered.
    await frame.locator('#steer-left-summary').click();
    await frame.locator('#steer-left-file input').fill(direction);
    await frame.locator('#steer-left-file input').press('Enter');
    await frame.locator('#steer-left .steer-note', { hasText: '|d| =' }).waitFor({ timeout: 30_000 });
    await frame.locator('#steer-left-layer').click();
    await frame.locator('#steer-left-layer vscode-option[value="1"]').click();
    await frame.locator('#steer-left .steer-note', { hasText: 'at layer 1' }).waitFor({ timeout: 10_000 });
    // The slider by keyboard, as a user would: 16 × 0.25 = +4 |d|.
    await frame.locator('#steer-left-strength').focus();
    for (let i = 0; i < 16; i++) await frame.locator('#steer-left-strength').press('ArrowRight');
    const summary = await frame.locator('#steer-left-summary').innerText();
    log(`control: ${summary} / ${await frame.locator('#steer-left .steer-note').innerText()}`);
    if (!/\+4\.00 × \|d\| at layer 1/.test(summary)) throw new Error(`the summary does not say the strength and layer: ${summary}`);

    const steered = await ask();
    log(`steered: ${steered.meta}`);
    if (!/steered: steer \+\d[\d.]* × random\.safetensors@L1/.test(steered.meta)) throw new Error(`the steered answer is not labelled with its steering: ${steered.meta}`);
    if (steered.text === plain.text) throw new Error('steering at +4 |d| left the answer (same seed) unchanged');
    const rightMeta = await frame.locator('#pane-right .message.assistant .meta').last().innerText();
    if (/steered/.test(rightMeta)) throw new Error(`the other pane was steered too: ${rightMeta}`);

    await frame.locator('#steer-left-ablate').click();
    const ablated = await ask();
    log(`steered and ablated: ${ablated.meta}`);
    if (!/ablate random\.safetensors@L1/.test(ablated.meta)) throw new Error(`the ablated answer does not say so: ${ablated.meta}`);
    await shootInThemes(ctx, 'steering-control');

    // Off again (strength 0, ablate off): the next answer is the plain one, bit for bit (same seed).
    await frame.locator('#steer-left-reset').click();
    await frame.locator('#steer-left-ablate').click();
    await frame.locator('#steer-left-summary', { hasText: 'Steering: off' }).waitFor({ timeout: 10_000 });
    const again = await ask();
    if (again.text !== plain.text || /steered/.test(again.meta)) throw new Error(`with steering off the answer differs from the unsteered one: ${JSON.stringify(again.text)} vs ${JSON.stringify(plain.text)}`);

    // The training view: the rank-1 run's B vector across its checkpoints, the sharpest rotation marked.
    await runCommand('EM Lab: Train LoRA Adapter');
    const train = await findWebviewFrame(async (f) => (await f.locator('#runs').count()) > 0, 60_000);
    await train.locator(`#runs vscode-option[value="${runDir}"]`).waitFor({ state: 'attached', timeout: 30_000 });
    await train.locator('#runs').click();
    await train.locator(`#runs vscode-option[value="${runDir}"]`).click();
    // (the view may first show the run it was attached to, with its own note: wait for this run's)
    await train.locator('#run-status', { hasText: 'e2e-phase-run' }).waitFor({ timeout: 30_000 });
    const note = train.locator('#phase-note');
    await note.filter({ hasText: /4 checkpoints, 1 LoRA module; rank 1/ }).waitFor({ timeout: 60_000 }).catch(async () => {
      throw new Error(`the phase note does not describe the rank-1 run: ${await note.innerText()}`);
    });
    log(`phase: ${await note.innerText()}`);
    if (!/Sharpest rotation of the B vectors at step \d+/.test(await note.innerText())) throw new Error('the sharpest rotation step is not named');
    await train.locator('#phase').evaluate((e) => e.scrollIntoView({ block: 'start' }));
    for (const id of ['chart-phase-cos', 'chart-phase-sigma']) {
      const box = await train.locator(`#${id}`).boundingBox();
      if (!box || box.width < 100 || box.height < 100) throw new Error(`#${id} is not drawn: ${JSON.stringify(box)}`);
    }
    await shootInThemes(ctx, 'phase-transition');
    await screenshot('done');
  },
};
