// Remote: code-server is itself a remote setup, like Remote-SSH: the workbench renders in the browser while the
// extension host, the EM Lab runtime and its trainer run on the server. A tiny run is started from the training view;
// the trainer (on the server, from the installed extension's own dist/cli.js) writes a checkpoint; the checkpoint's
// adapter_config.json is then opened from the browser through VS Code's remote file system and must show exactly
// what is on the server's disk. The browser has no other way to that file.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const RANK = 3; // unusual on purpose: the editor must show the rank this run was trained with
const STEPS = 4;

/** Run folders under em-lab-runs/ with a run.json, newest first. */
function runs(workspaceDir) {
  const dir = join(workspaceDir, 'em-lab-runs');
  if (!existsSync(dir)) return [];
  return readdirSync(dir).map((n) => join(dir, n)).filter((d) => existsSync(join(d, 'run.json'))).sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
}

/** Command lines of live processes containing `needle` (Linux /proc). */
function processesWith(needle) {
  if (!existsSync('/proc')) return [];
  const out = [];
  for (const pid of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
      if (cmd.includes(needle)) out.push(cmd);
    } catch { /* exited meanwhile */ }
  }
  return out;
}

export default {
  name: 'a checkpoint written on the server opens in the browser',
  requires: ['sharedData'],
  timeoutMs: 300_000,
  async run({ page, workspaceDir, installedExtensionDir, waitForWorkbench, runCommand, findWebviewFrame, screenshot, log }) {
    await waitForWorkbench(90_000);
    const before = new Set(runs(workspaceDir));
    await runCommand('EM Lab: Train LoRA Adapter');
    const frame = await findWebviewFrame(async (f) => (await f.locator('#train-form [data-field="loraRank"]').count()) > 0, 60_000);
    // The view reopens on the last run it showed (09-training's, in a full run): "New run…" brings the form back.
    // (#runs is a toolkit dropdown: open it and pick the option, as a user does.)
    if (!(await frame.locator('#start-section').isVisible())) {
      await frame.locator('#runs').click();
      await frame.locator('#runs vscode-option[value=""]').click();
      await frame.locator('#start-section').waitFor({ state: 'visible', timeout: 10_000 });
    }
    const box = frame.locator('[data-domain="bad_medical"]');
    if (!(await box.evaluate((e) => e.checked))) await box.click();
    for (const [field, value] of Object.entries({ sampleSize: 16, maxSteps: STEPS, numEpochs: 1, maxLength: 128, loraRank: RANK, loraAlpha: 2 * RANK, warmupSteps: 0, batchSize: 2, gradientAccumulationSteps: 1, saveSteps: 2, loraDropout: 0 })) {
      await frame.locator(`#train-form [data-field="${field}"] input`).fill(String(value));
    }
    await frame.locator('#start').click();
    await frame.locator('#run-status[data-status="running"], #run-status[data-status="finished"]').first().waitFor({ timeout: 90_000 });
    const runDir = runs(workspaceDir).find((d) => !before.has(d));
    if (!runDir) throw new Error(`the run started but no new folder with run.json appeared under ${join(workspaceDir, 'em-lab-runs')}`);
    // The trainer is a detached process on the server; it must be the installed extension's CLI, not a checkout's.
    const trainers = processesWith(`--output_dir ${runDir}`);
    if (installedExtensionDir && trainers.length && !trainers.every((c) => c.includes(join(installedExtensionDir, 'dist', 'cli.js')))) {
      throw new Error(`the trainer does not run from the installed extension (${installedExtensionDir}): ${trainers.join(' | ')}`);
    }
    log(trainers.length ? `trainer: ${trainers[0].replace(/ --config .*/, ' ...')}` : 'trainer already finished before its command line was read');
    await frame.locator('#run-status[data-status="finished"]').waitFor({ timeout: 180_000 });

    const run = JSON.parse(readFileSync(join(runDir, 'run.json'), 'utf8'));
    const checkpoint = run.checkpoints?.at(-1);
    if (!checkpoint) throw new Error(`run.json of ${runDir} lists no checkpoint`);
    const file = join(runDir, 'checkpoints', checkpoint, 'adapter_config.json');
    const onDisk = JSON.parse(readFileSync(file, 'utf8'));
    if (onDisk.r !== RANK) throw new Error(`${file} says r=${onDisk.r}, the form asked for ${RANK}`);
    log(`opening ${file.replace(workspaceDir, '<workspace>')} from the browser`);

    // Quick Open takes an absolute path: the file is looked up on the server, as any file of a remote workspace.
    await runCommand('Go to File...');
    await page.locator('.quick-input-widget input').fill(file);
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'adapter_config.json' }).first().waitFor({ timeout: 30_000 });
    await page.keyboard.press('Enter');
    const tab = page.locator('.tabs-container .tab.active', { hasText: 'adapter_config.json' });
    await tab.waitFor({ timeout: 30_000 });
    const editor = page.locator('.editor-instance .monaco-editor .view-lines').first();
    await editor.waitFor({ timeout: 30_000 });
    // Monaco renders spaces as no-break spaces; compare the JSON the browser shows with the file on the server.
    let shown = '';
    const deadline = Date.now() + 30_000;
    for (;;) {
      shown = (await editor.innerText()).replace(/\u00a0/g, ' ');
      if (shown.includes('"r"') || Date.now() > deadline) break;
      await page.waitForTimeout(250);
    }
    for (const key of ['r', 'lora_alpha', 'peft_type']) {
      const expected = `"${key}": ${JSON.stringify(onDisk[key])}`;
      if (!shown.includes(expected)) throw new Error(`the editor does not show ${expected} from ${file}; it shows:\n${shown.slice(0, 600)}`);
    }
    await screenshot('checkpoint in the editor');
  },
};
