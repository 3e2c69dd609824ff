// The chat's model list and labels know an experiment's training run (<runs>/<experiment>/train/checkpoints/...),
// so "Open in Chat" on an experiment's checkpoint names the experiment, not "train".
import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listChatModels } from '../../src/runtime/model/chatHandlers';
import { checkpointOf } from '../../src/runtime/model/generateSession';

describe('chat: checkpoints of runs and of experiments', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'emlab-chat-list-'));
    for (const dir of [join(root, 'runs', 'run-a', 'checkpoints', 'step-2'), join(root, 'runs', 'exp1', 'train', 'checkpoints', 'step-8'), join(root, 'runs', 'exp1', 'train', 'checkpoints', 'step-16')]) {
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'adapter_config.json'), JSON.stringify({ base_model_name_or_path: 'tiny-llama', peft_type: 'LORA' }));
    }
    writeFileSync(join(root, 'runs', 'exp1', 'experiment.json'), '{}');
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('lists both, newest step first, and labels the experiment run by the experiment', () => {
    const labels = listChatModels(join(root, 'storage'), join(root, 'runs'), []).filter((m) => m.kind === 'checkpoint').map((m) => m.label);
    assert.deepEqual(labels, ['exp1/train · step 16 (on tiny-llama)', 'exp1/train · step 8 (on tiny-llama)', 'run-a · step 2 (on tiny-llama)']);
    assert.deepEqual(checkpointOf(join(root, 'runs', 'exp1', 'train', 'checkpoints', 'step-8')), { run: 'exp1/train', step: 8 });
    assert.deepEqual(checkpointOf(join(root, 'runs', 'run-a', 'checkpoints', 'step-2')), { run: 'run-a', step: 2 });
  });
});
