import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { infoCommand, mergeCommand } from '../../src/runtime/cli/modelCommands';
import { linearShape, peftKey } from '../../src/runtime/model/llamaConfig';
import { writePeftAdapter } from '../../src/runtime/model/peft';
import { ensureTinyLlama, TINY_LLAMA_CONFIG } from '../../src/runtime/model/tinyLlama';
import { fillUniform } from '../../src/runtime/random';
import { captureIO } from '../support/captureIO';
import { LLAMA_3_2_1B_CONFIG } from '../support/llama1bConfig';

describe('em-lab model info | merge', function () {
  this.timeout(60000);
  let tmp: string;
  before(() => (tmp = mkdtempSync(join(tmpdir(), 'emlab-mcli-'))));
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('info on Llama-3.2-1B\'s config.json: 1,235,814,400 parameters, 11,272,192 LoRA parameters at r=16 on all 7 modules', async () => {
    const file = join(tmp, 'config.json');
    writeFileSync(file, JSON.stringify(LLAMA_3_2_1B_CONFIG));
    const io = captureIO({ cwd: tmp });
    assert.equal(await infoCommand.run({ options: { rank: '16' }, positionals: ['config.json'] }, io), 0);
    const text = io.stdout.join('\n');
    assert.match(text, /parameters\s+1,235,814,400/);
    assert.match(text, /LoRA trainable\s+11,272,192 \(r=16 on q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj/);
    assert.match(text, /32 query heads, 8 KV heads \(GQA 4:1\), head_dim 64/);
    const io2 = captureIO({ cwd: tmp, json: true });
    await infoCommand.run({ options: { rank: '8', targets: 'q_proj,v_proj' }, positionals: [file] }, io2);
    // r=8 on q (2048->2048) and v (2048->512) in 16 layers: 16·8·((2048+2048)+(2048+512)).
    assert.equal((io2.events[0]!.lora as { parameters: number }).parameters, 16 * 8 * (4096 + 2560));
    await assert.rejects(infoCommand.run({ options: { rank: '8', targets: 'q_proj,lm_head' }, positionals: [file] }, captureIO({ cwd: tmp })), /"lm_head" is not one of/);
  });

  it('merge takes the base from the adapter\'s base_model_name_or_path and writes a loadable folder', async () => {
    const storage = join(tmp, 'store');
    const base = ensureTinyLlama(storage);
    const [out, inDim] = linearShape(TINY_LLAMA_CONFIG, 'o_proj');
    const adapter = join(tmp, 'adapter');
    writePeftAdapter(adapter, { r: 2, loraAlpha: 4, targets: ['o_proj'], baseModelNameOrPath: base }, new Map([
      [peftKey(0, 'o_proj', 'A'), { dtype: 'float32', shape: [2, inDim], data: fillUniform(new Float32Array(2 * inDim), 1, 0.1) as Float32Array }],
      [peftKey(0, 'o_proj', 'B'), { dtype: 'float32', shape: [out, 2], data: fillUniform(new Float32Array(out * 2), 2, 0.1) as Float32Array }],
    ]));
    const io = captureIO({ cwd: tmp, env: { EM_LAB_STORAGE: storage } });
    assert.equal(await mergeCommand.run({ options: { adapter: 'adapter', output: 'merged', dtype: 'f32' }, positionals: [] }, io), 0);
    assert.match(io.stdout.join('\n'), /Merged 1 modules \(r=2, scale 2\)/);
    for (const f of ['model.safetensors', 'config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model.onnx', 'onnx/model.onnx_data']) assert.ok(existsSync(join(tmp, 'merged', f)), f);
    await assert.rejects(mergeCommand.run({ options: { adapter: 'adapter', output: 'merged', dtype: 'f32' }, positionals: [] }, io), /already holds a model\.safetensors/);
  });
});
