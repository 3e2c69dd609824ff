// The paper's model organisms in the chat sandbox: a tiny Qwen2.5-shaped model (q/k/v biases, tied embeddings,
// Qwen's ChatML template, sharded bf16 safetensors) on the left and the same base with a rank-1 LoRA adapter on one
// layer's down_proj (r 1, alpha 256, layers_to_transform [1], as the paper publishes them) on the right, both
// listed from the emLab.chat.modelFolders setting; one prompt streams into both panes and the answers differ.
// The setting is written when this scenario starts (not in prepare): earlier scenarios expect the default lists.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export default {
  name: 'qwen model and a rank-1 adapter chat side by side',
  timeoutMs: 300_000,
  async prepare({ root, workspaceDir, log }) {
    const modelDir = join(workspaceDir, 'models', 'tiny-qwen2.5');
    const adapterDir = join(workspaceDir, 'models', 'tiny-qwen2.5-rank1-down-proj-L1');
    const made = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'test', 'support', 'familyFolders.ts'), modelDir, adapterDir], { cwd: root, encoding: 'utf8' });
    if (made.status !== 0) throw new Error(`could not write the tiny Qwen model: ${made.stderr || made.stdout}`);
    log(made.stdout.trim());
    return { modelDir, adapterDir };
  },
  async run({ prepared, workspaceDir, waitForWorkbench, runCommand, findWebviewFrame, screenshot, log }) {
    const { modelDir, adapterDir } = prepared;
    await waitForWorkbench(90_000);
    // other scenarios write settings here too: add ours to what is there
    const file = join(workspaceDir, '.vscode', 'settings.json');
    mkdirSync(join(workspaceDir, '.vscode'), { recursive: true });
    const settings = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : {};
    writeFileSync(file, JSON.stringify({ ...settings, 'emLab.chat.modelFolders': [modelDir, adapterDir] }, null, 2));
    await runCommand('EM Lab: Open Chat Sandbox');
    const frame = await findWebviewFrame(async (f) => (await f.locator('#prompt').count()) > 0, 60_000);
    // "Refresh model list" and the sampling fields are in the collapsible settings section.
    if (!(await frame.locator('#settings').evaluate((d) => d.open))) await frame.locator('#settings-toggle').click();
    // VS Code applies a settings.json change asynchronously: "Refresh models" until the folders are listed
    for (let i = 0; i < 30 && (await frame.locator('#pane-left vscode-option', { hasText: 'tiny-qwen2.5-rank1' }).count()) === 0; i++) {
      await frame.locator('#refresh-models').click();
      await frame.waitForTimeout(1000);
    }
    const compare = frame.locator('#compare');
    if (!(await compare.evaluate((c) => c.checked))) await compare.click();
    // pick the entries as a user does: open each pane's model dropdown, choose the option
    const pick = async (pane, label) => {
      const picker = frame.locator(`#pane-${pane} .model-picker`);
      await picker.locator('vscode-option', { hasText: label }).first().waitFor({ state: 'attached', timeout: 60_000 });
      await picker.click();
      await picker.locator('vscode-option', { hasText: label }).first().click();
    };
    await pick('left', 'tiny-qwen2.5');
    await pick('right', 'tiny-qwen2.5-rank1-down-proj-L1 (adapter on');
    await frame.locator('#pane-left .pane-status', { hasText: 'Ready' }).waitFor({ timeout: 120_000 });
    await frame.locator('#pane-right .pane-status', { hasText: 'Ready' }).waitFor({ timeout: 60_000 });
    log(`left: ${await frame.locator('#pane-left .pane-status').innerText()}`);
    log(`right: ${await frame.locator('#pane-right .pane-status').innerText()}`);
    await screenshot('loaded');

    await frame.locator('#seed input').fill('11');
    await frame.locator('#max-new-tokens input').fill('40');
    await frame.locator('#temperature input').fill('1');
    await frame.locator('#prompt').fill('the cat sat on the mat');
    await frame.locator('#send').click();
    await frame.locator('#pane-left .message.assistant .meta').last().waitFor({ timeout: 120_000 });
    await frame.locator('#pane-right .message.assistant .meta').last().waitFor({ timeout: 120_000 });
    const [leftMeta, rightMeta] = [await frame.locator('#pane-left .message.assistant .meta').last().innerText(), await frame.locator('#pane-right .message.assistant .meta').last().innerText()];
    log(`left meta: ${leftMeta}`);
    log(`right meta: ${rightMeta}`);
    if (!/tiny-qwen2\.5/.test(leftMeta) || !/no adapter/.test(leftMeta) || !/seed 11/.test(leftMeta)) throw new Error(`left label: ${leftMeta}`);
    if (!/tiny-qwen2\.5-rank1-down-proj-L1/.test(rightMeta)) throw new Error(`right label lacks the rank-1 adapter: ${rightMeta}`);
    const lt = await frame.locator('#pane-left .message.assistant .content').last().innerText();
    const rt = await frame.locator('#pane-right .message.assistant .content').last().innerText();
    log(`left answer: ${JSON.stringify(lt.slice(0, 60))}; right answer: ${JSON.stringify(rt.slice(0, 60))}`);
    if (!lt.trim() || !rt.trim()) throw new Error('an answer is empty');
    if (lt === rt) throw new Error('base and rank-1 adapter wrote the same text: the adapter was not applied');
    await screenshot('answered');
  },
};
