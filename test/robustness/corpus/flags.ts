// Bad command-line values: numbers that are not numbers, limits, paths that climb out, commands that do not exist.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { conv, type BadCase } from './types';

const DATA = (dir: string) => {
  writeFileSync(join(dir, 'd.jsonl'), [conv('q1', 'a1'), conv('q2', 'a2')].join('\n') + '\n');
  return ['--model_name', 'tiny-llama', '--data', 'd.jsonl', '--max_length', '64', '--num_epochs', '1', '--max_steps', '1'];
};
const noRun = (name: string) => (dir: string) => {
  if (require('node:fs').existsSync(join(dir, name))) throw new Error(`${name} was left behind`);
};

export const FLAG_CASES: BadCase[] = [
  { kind: 'flags', name: 'train --learning_rate NaN', make: (d) => ['train', ...DATA(d), '--learning_rate', 'NaN', '--output_dir', 'run'], expect: /--learning_rate must be a number in \(0, 1\), got "NaN"/, check: noRun('run') },
  { kind: 'flags', name: 'train --learning_rate abc', make: (d) => ['train', ...DATA(d), '--learning_rate', 'abc', '--output_dir', 'run'], expect: /--learning_rate must be a number in \(0, 1\), got "abc"/, check: noRun('run') },
  { kind: 'flags', name: 'train --learning_rate 5 (out of range)', make: (d) => ['train', ...DATA(d), '--learning_rate', '5', '--output_dir', 'run'], expect: /--learning_rate must be a number in \(0, 1\), got 5/, check: noRun('run') },
  { kind: 'flags', name: 'train --threads=-1 (exit code, no run folder)', make: (d) => ['train', ...DATA(d), '--threads=-1', '--output_dir', 'run'], expect: /--threads must be a whole number from 1 to 4096, got -1/, process: { rssMiB: 400 }, check: noRun('run') },
  { kind: 'flags', name: 'train --max_length 1e9 (no run folder)', make: (d) => ['train', ...DATA(d), '--max_length', '1e9', '--output_dir', 'run'], expect: /--max_length 1000000000 is longer than tiny-llama can read/, check: noRun('run') },
  { kind: 'flags', name: 'train --batch_size 0', make: (d) => ['train', ...DATA(d), '--batch_size', '0', '--output_dir', 'run'], expect: /--batch_size must be a positive integer, got 0/, check: noRun('run') },
  { kind: 'flags', name: 'train --lora_rank 2.5', make: (d) => ['train', ...DATA(d), '--lora_rank', '2.5', '--output_dir', 'run'], expect: /--lora_rank must be a positive integer, got 2\.5/, check: noRun('run') },
  { kind: 'flags', name: 'train --domains ../../x (a path, not an id)', make: () => ['train', '--domains', '../../x'], expect: /--domains: the dataset id "\.\.\/\.\.\/x" must be a plain name/ },
  { kind: 'flags', name: 'train --resume on a folder that does not exist', make: () => ['train', '--resume', 'nothere'], expect: /--resume: .*nothere does not exist/, check: noRun('nothere') },
  {
    kind: 'flags', name: 'train --output_dir that is a file',
    make: (d) => {
      writeFileSync(join(d, 'afile'), 'x');
      return ['train', ...DATA(d), '--output_dir', 'afile'];
    },
    expect: /--output_dir .*afile is a file, not a folder/,
  },
  {
    kind: 'flags', name: 'train --output_dir on a read-only file system (EROFS)',
    make: (d) => ['train', ...DATA(d), '--output_dir', 'ro/run'],
    process: { rssMiB: 500, faults: (d) => ({ EM_LAB_FAULT_ERRNO: `EROFS:${join(d, 'ro')}` }) },
    expect: /Cannot create the folder .*ro.*: the file system is read-only/,
  },
  {
    kind: 'flags', name: 'train status on a run.json that is not valid JSON (not "missing")',
    make: (d) => {
      mkdirSync(join(d, 'run'));
      writeFileSync(join(d, 'run', 'run.json'), '{"status": "runn');
      return ['train', 'status', 'run'];
    },
    expect: /run\.json is not valid JSON/,
  },
  { kind: 'flags', name: 'generate --temperature NaN', make: () => ['generate', '--prompt', 'hi', '--temperature', 'NaN'], expect: /--temperature expects a number >= 0, got "NaN"/ },
  { kind: 'flags', name: 'generate --max_new_tokens 1e8 (capped up front)', make: () => ['generate', '--prompt', 'hi', '--max_new_tokens', '1e8'], expect: /--max_new_tokens must be an integer from 1 to 131072 \(got 100000000\)/, timeMs: 20_000 },
  { kind: 'flags', name: 'generate --top_p 2', make: () => ['generate', '--prompt', 'hi', '--top_p', '2'], expect: /--top_p must be in \(0, 1\] \(got 2\)/ },
  {
    kind: 'flags', name: 'generate --batch 0',
    make: (d) => {
      writeFileSync(join(d, 'p.txt'), 'hi\n');
      return ['generate', '--prompts', 'p.txt', '--batch', '0'];
    },
    expect: /--batch must be a positive integer or auto, got "0"/ },
  { kind: 'flags', name: 'model info --rank 0', make: () => ['model', 'info', '--rank', '0'], expect: /--rank must be a whole number >= 1, got 0/ },
  { kind: 'flags', name: 'model pull --revision ../x (would write outside the storage folder)', make: () => ['model', 'pull', 'meta-llama/Llama-3.2-1B-Instruct', '--revision', '../x'], expect: /--revision "\.\.\/x" is not a branch, tag or commit name/ },
  {
    kind: 'flags', name: 'data show --row 0',
    make: (d) => {
      DATA(d);
      return ['data', 'show', 'd.jsonl', '--row', '0'];
    },
    expect: /--row must be a whole number >= 1, got 0/ },
  { kind: 'flags', name: 'data mix --total abc', make: () => ['data', 'mix', '--mix', 'a=1', '--total', 'abc'], expect: /--total expects a whole number >= 1, got "abc"/ },
  { kind: 'flags', name: 'nosuchcommand --help (exit 2, not 0)', make: () => ['nosuchcommand', '--help'], expect: /unknown command "nosuchcommand"/, process: { rssMiB: 300 } },
  { kind: 'flags', name: 'train --resume with --no_resume', make: () => ['train', '--resume', '--no_resume', 'x'], expect: /Give --resume or --no_resume, not both/ },
  { kind: 'flags', name: 'an unknown option', make: () => ['data', 'stats', '--frobnicate'], expect: /Unknown option '--frobnicate'/ },
];
