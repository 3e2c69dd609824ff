// Entry point of EM Lab's phases in bench/gpu.sh, bundled with its dependencies (onnxruntime-node stays external)
// into .gpu-carry/emlab-gpu.mjs so it runs on the lent GPU machine without node_modules or network.
//   cuda --from DIR [--skip-version-check]   install the provider libraries found there (em-lab setup cuda)
//   probe                                    cudaStatus({ probe: true }): does a CUDA session really run?
//   train --shape llama1b|tiny --device cuda|cpu --precision float16|bfloat16|fp32 ... --work DIR --out FILE
//   export --shape ... --work DIR                  build + save the train step, write what PEFT reads (no GPU needed)
//   decode --shape ... --device ... --work DIR --out FILE
//   table --results DIR                      the one table gpu.sh prints at the end
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { setupCuda } from '../../src/runtime/cuda/setupCuda';
import { describeDependencyCheck } from '../../src/runtime/cuda/cudaDependencies';
import { cudaStatus } from '../../src/runtime/cuda/cudaStatus';
import { errorMessage } from '../../src/runtime/errors';
import { exportTrainBench, runTrainBench } from './gpuBenchTrain';
import { runDecodeBench } from './gpuBenchDecode';
import { printTable } from './gpuBenchTable';
import type { ShapeName } from './gpuBenchShape';

const log = (line: string) => process.stderr.write(`[emlab ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const { values } = parseArgs({
    args: rest,
    strict: true,
    options: {
      from: { type: 'string' }, 'skip-version-check': { type: 'boolean' }, shape: { type: 'string', default: 'llama1b' },
      device: { type: 'string', default: 'cuda' }, precision: { type: 'string', default: 'float16' }, rank: { type: 'string', default: '16' },
      seq: { type: 'string', default: '256' }, batch: { type: 'string', default: '8' }, steps: { type: 'string', default: '20' },
      warmup: { type: 'string', default: '3' }, lr: { type: 'string', default: '1e-3' }, prompt: { type: 'string', default: '16' },
      new: { type: 'string', default: '128' }, work: { type: 'string', default: 'gpu-work' }, out: { type: 'string' }, results: { type: 'string' },
    },
  });
  const n = (k: keyof typeof values) => Number(values[k]);
  const write = (obj: unknown) => {
    const text = JSON.stringify(obj, null, 1);
    if (values.out) writeFileSync(values.out, text);
    process.stdout.write(text + '\n');
  };
  switch (command) {
    case 'cuda': {
      if (!values.from) throw new Error('cuda: --from DIR is required');
      const r = await setupCuda({ from: values.from, skipVersionCheck: values['skip-version-check'] === true, progress: (m) => log(m) });
      for (const line of describeDependencyCheck(r.dependencies)) log(line);
      write({ phase: 'cuda-setup', ready: r.ready, version: r.source?.version, installedFrom: r.source?.description, cudaMajor: r.dependencies.cudaMajor, missing: r.dependencies.missing.map((m) => m.soname), suggestedLibraryPath: r.dependencies.suggestedLibraryPath });
      return 0;
    }
    case 'probe': {
      const s = await cudaStatus({ probe: true });
      write({ phase: 'probe', ...s });
      return s.available ? 0 : 3;
    }
    case 'train': {
      const r = await runTrainBench({
        shape: values.shape as ShapeName, device: values.device as 'cuda' | 'cpu', precision: values.precision as 'float16' | 'bfloat16' | 'fp32',
        rank: n('rank'), seq: n('seq'), batch: n('batch'), steps: n('steps'), warmup: n('warmup'), lr: n('lr'), workDir: values.work!, log,
      });
      write(r);
      return 0;
    }
    case 'export': {
      const r = exportTrainBench({
        shape: values.shape as ShapeName, precision: values.precision as 'float16' | 'bfloat16' | 'fp32',
        rank: n('rank'), seq: n('seq'), batch: n('batch'), steps: n('steps'), warmup: n('warmup'), lr: n('lr'), workDir: values.work!, log,
      });
      write({ phase: 'export', ...r });
      return 0;
    }
    case 'decode': {
      const r = await runDecodeBench({ shape: values.shape as ShapeName, device: values.device as 'cuda' | 'cpu', rank: n('rank'), promptTokens: n('prompt'), newTokens: n('new'), maxPositions: n('seq'), workDir: values.work!, log });
      write(r);
      return 0;
    }
    case 'table':
      printTable(values.results ?? 'gpu-results');
      return 0;
    default:
      process.stderr.write('usage: emlab-gpu cuda|probe|train|decode|table [options] (see bench/gpu/emlabGpu.ts)\n');
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    log(`failed: ${errorMessage(err)}`);
    if (err instanceof Error && err.stack) process.stderr.write(err.stack + '\n');
    process.exitCode = 1;
  },
);
