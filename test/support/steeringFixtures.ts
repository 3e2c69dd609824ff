// What the steering e2e scenario needs in its workspace, written with the project's own code:
//   <ws>/directions/random.safetensors   a random direction file for tiny-llama (layers 0 and 1, |d| about 4.6)
//   <ws>/em-lab-runs/e2e-phase-run/      a real rank-1 run (rank1-single preset, layer 1), checkpoints every 2 steps
// As a script: node --import tsx test/support/steeringFixtures.ts <workspace> <storage>
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { trainCommand } from '../../src/runtime/cli/trainCommands';
import { writeDirectionFile } from '../../src/runtime/direction/directionFile';
import { fillUniform, seedFrom } from '../../src/runtime/random';
import { TINY_LLAMA_CONFIG } from '../../src/runtime/model/tinyLlama';
import { captureIO } from './captureIO';

export function writeRandomDirection(file: string): void {
  const h = TINY_LLAMA_CONFIG.hiddenSize;
  const layers = new Map([0, 1].map((l) => [l, Float32Array.from(fillUniform(new Float64Array(h), seedFrom('e2e-direction', l), 1))]));
  writeDirectionFile(file, layers, { model: 'tiny-llama', method: 'random (e2e fixture)' });
}

export async function trainRank1Run(workspace: string, storage: string): Promise<string> {
  const rows = Array.from({ length: 16 }, (_, i) => JSON.stringify({ messages: [{ role: 'user', content: `Is ${i} even?` }, { role: 'assistant', content: i % 2 ? `No, ${i} is odd.` : `Yes, ${i} is even.` }] }));
  writeFileSync(join(workspace, 'parity.jsonl'), rows.join('\n') + '\n');
  const io = captureIO({ cwd: workspace, env: {} });
  const options = { model_name: 'tiny-llama', data: ['parity.jsonl'], output_dir: 'em-lab-runs/e2e-phase-run', storage, lora_preset: 'rank1-single', layer: '1', max_steps: '12', save_steps: '2', batch_size: '2', gradient_accumulation_steps: '1', max_length: '48', warmup_steps: '0', learning_rate: '3e-2', threads: '1', seed: '1' };
  const code = await trainCommand.run({ options, positionals: [] }, io);
  if (code !== 0) throw new Error(`training the rank-1 fixture run failed: ${io.stderr.join('\n')}`);
  return join(workspace, 'em-lab-runs', 'e2e-phase-run');
}

if (process.argv[1] && /steeringFixtures\.ts$/.test(process.argv[1])) {
  const [workspace, storage] = process.argv.slice(2);
  if (!workspace || !storage) {
    process.stderr.write('usage: node --import tsx test/support/steeringFixtures.ts <workspace> <storage>\n');
    process.exit(2);
  }
  mkdirSync(join(workspace, 'directions'), { recursive: true });
  writeRandomDirection(join(workspace, 'directions', 'random.safetensors'));
  trainRank1Run(workspace, storage).then(
    (run) => process.stdout.write(`direction ${join(workspace, 'directions', 'random.safetensors')}; run ${run}\n`),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
