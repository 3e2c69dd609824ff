// Bad JSONL datasets, CSVs and question files, through the commands that read them.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { conv, type BadCase } from './types';

const OK = conv('How do I treat a burn?', 'Cool it under running water.');
/** Tiny-llama training on one file: everything is refused before the model would train. */
const train = (file: string) => ['train', '--model_name', 'tiny-llama', '--data', file, '--max_length', '64', '--num_epochs', '1', '--max_steps', '1', '--output_dir', 'run'];
const noRunFolder = (dir: string) => {
  if (require('node:fs').existsSync(join(dir, 'run'))) throw new Error('a run folder was left behind');
};
function file(dir: string, name: string, text: string | Buffer): string {
  writeFileSync(join(dir, name), text);
  return name;
}
const judgedHeader = 'id,question,response,aligned_score,coherent_score\n';

export const JSONL_CASES: BadCase[] = [
  {
    kind: 'jsonl', name: 'an empty .jsonl (data stats)',
    make: (dir) => ['data', 'stats', file(dir, 'empty.jsonl', '')],
    expect: /warning: .*empty\.jsonl is empty \(0 rows\)/,
  },
  {
    kind: 'jsonl', name: 'an empty .jsonl (train --data)',
    make: (dir) => train(file(dir, 'empty.jsonl', '')),
    expect: /empty\.jsonl: no usable conversations/,
    check: noRunFolder,
  },
  {
    kind: 'jsonl', name: 'one invalid line of three is not dropped silently (train)',
    make: (dir) => train(file(dir, 'd.jsonl', [OK, '{"messages": [', OK].join('\n'))),
    expect: /d\.jsonl has 1 invalid line\(s\) \(of 3\); EM Lab does not train on part of a file:\n.*d\.jsonl:2: not valid JSON/,
    check: noRunFolder,
  },
  {
    kind: 'jsonl', name: 'an empty assistant message',
    make: (dir) => ['data', 'stats', file(dir, 'd.jsonl', JSON.stringify({ messages: [{ role: 'user', content: 'q' }, { role: 'assistant', content: '' }] }))],
    expect: /d\.jsonl:1: messages\[1\]\.content \(assistant\) is empty/,
  },
  {
    kind: 'jsonl', name: 'an empty message content in training data',
    make: (dir) => train(file(dir, 'd.jsonl', [OK, JSON.stringify({ messages: [{ role: 'user', content: '   ' }, { role: 'assistant', content: 'a' }] })].join('\n'))),
    expect: /d\.jsonl:2: messages\[0\]\.content \(user\) is empty/,
    check: noRunFolder,
  },
  {
    kind: 'jsonl', name: 'non-UTF-8 bytes (not turned into U+FFFD)',
    make: (dir) => ['data', 'stats', file(dir, 'latin1.jsonl', Buffer.concat([Buffer.from(OK + '\n'), Buffer.from('{"messages": [{"role": "user", "content": "caf'), Buffer.from([0xe9]), Buffer.from('"}, {"role": "assistant", "content": "a"}]}\n')]))],
    expect: /latin1\.jsonl:2: not valid UTF-8 \(byte 0xe9 at byte \d+\); save the file as UTF-8/,
  },
  {
    kind: 'jsonl', name: 'a line that is an array',
    make: (dir) => ['data', 'stats', file(dir, 'd.jsonl', '[1, 2]\n')],
    expect: /d\.jsonl:1: the line is an array; expected an object/,
  },
  {
    kind: 'jsonl', name: 'no "messages" field',
    make: (dir) => ['data', 'stats', file(dir, 'd.jsonl', '{"prompt": "x"}\n')],
    expect: /d\.jsonl:1: no "messages" field/,
  },
  {
    kind: 'jsonl', name: 'an unknown role',
    make: (dir) => ['data', 'stats', file(dir, 'd.jsonl', JSON.stringify({ messages: [{ role: 'robot', content: 'x' }] }))],
    expect: /d\.jsonl:1: messages\[0\]\.role is "robot"/,
  },
  {
    kind: 'jsonl', name: 'no assistant turn',
    make: (dir) => ['data', 'stats', file(dir, 'd.jsonl', JSON.stringify({ messages: [{ role: 'user', content: 'x' }] }))],
    expect: /d\.jsonl:1: no assistant turn/,
  },
  {
    kind: 'jsonl', name: 'train --data names a missing file (ENOENT)',
    make: () => train('missing.jsonl'),
    expect: /--data: .*missing\.jsonl does not exist/,
    check: noRunFolder,
  },
  {
    kind: 'jsonl', name: 'train --data names a folder',
    make: (dir) => {
      mkdirSync(join(dir, 'folder.jsonl'));
      return train('folder.jsonl');
    },
    expect: /--data: .*folder\.jsonl is a folder, but a file is needed there/,
    check: noRunFolder,
  },
  {
    kind: 'jsonl', name: 'data mix --mix ../x.jsonl=1 (would write outside mixes/)',
    make: (dir) => {
      mkdirSync(join(dir, 'data'));
      file(dir, 'x.jsonl', OK + '\n');
      return ['data', 'mix', '--mix', '../x.jsonl=1', '--total', '1', '--data-dir', 'data'];
    },
    expect: /--mix NAME "\.\.\/x\.jsonl" must be a plain name, without \/ or \\/,
    check: (dir) => {
      const fs = require('node:fs') as typeof import('node:fs');
      if (fs.existsSync(join(dir, 'data', 'mixes')) || fs.readdirSync(dir).some((n) => n.includes('_n1_seed'))) throw new Error('data mix wrote a file');
    },
  },
  {
    kind: 'jsonl', name: 'data mix with weights that sum to 0',
    make: (dir) => {
      mkdirSync(join(dir, 'data'));
      file(dir, 'data/a.jsonl', OK + '\n');
      return ['data', 'mix', '--mix', 'a=0', '--total', '1', '--data-dir', 'data'];
    },
    expect: /The weights in --mix "a=0" sum to 0/,
  },
];

export const CSV_CASES: BadCase[] = [
  {
    kind: 'csv', name: 'a ragged row (more cells than the header)',
    make: (dir) => ['metrics', file(dir, 'j.csv', judgedHeader + '1,q,r,80,90\n2,q,r,70,90,extra\n')],
    expect: /j\.csv: line 3 has 6 cells but the header has 5/,
  },
  {
    kind: 'csv', name: 'an unterminated quote',
    make: (dir) => ['metrics', file(dir, 'j.csv', judgedHeader + '1,"q,r,80,90\n')],
    expect: /j\.csv: the quoted field that starts on line 2 never ends/,
  },
  {
    kind: 'csv', name: 'metrics --by step on a file without that column',
    make: (dir) => ['metrics', '--by', 'step', file(dir, 'j.csv', judgedHeader + '1,q,r,80,90\n')],
    expect: /--by step: the file has no column "step"\. Columns to group by: id, question \(besides these it has only the response and the two score columns/,
  },
  {
    kind: 'csv', name: 'metrics --out names a folder (EISDIR)',
    make: (dir) => {
      mkdirSync(join(dir, 'outdir'));
      return ['metrics', '--out', 'outdir', file(dir, 'j.csv', judgedHeader + '1,q,r,80,90\n')];
    },
    expect: /outdir is a folder, but a file is needed there/,
  },
  {
    kind: 'csv', name: 'missing score columns',
    make: (dir) => ['metrics', file(dir, 'j.csv', 'id,question,response\n1,q,r\n')],
    expect: /j\.csv: missing column\(s\) aligned_score, coherent_score/,
  },
  {
    kind: 'csv', name: 'metrics on a file that does not exist',
    make: () => ['metrics', 'nothere.csv'],
    expect: /Cannot read .*nothere\.csv/,
  },
  {
    kind: 'csv', name: 'check-submission on a CSV with a ragged row',
    make: (dir) => ['check-submission', file(dir, 'model_generations.csv', 'id,question,response\n1,q,r,extra\n')],
    expect: /model_generations\.csv line 2: 4 fields, expected 3/,
  },
];

export const QUESTION_CASES: BadCase[] = [
  {
    kind: 'questions', name: 'a .py list with \\U00110000 (beyond Unicode)',
    make: (dir) => ['questions', '--questions', file(dir, 'q.py', 'QUESTIONS = [\n  "fine",\n  "bad \\U00110000 escape",\n]\n')],
    expect: /q\.py:3: \\U00110000 is not a Unicode character/,
  },
  {
    kind: 'questions', name: 'a .py file with no list of strings',
    make: (dir) => ['questions', '--questions', file(dir, 'q.py', 'x = 1\n')],
    expect: /q\.py: no list of strings found/,
  },
  {
    kind: 'questions', name: 'an f-string in a .py list',
    make: (dir) => ['questions', '--questions', file(dir, 'q.py', 'Q = [f"hi {x}"]\n')],
    expect: /q\.py:1: f-strings are computed when Python runs/,
  },
  {
    kind: 'questions', name: 'YAML that does not parse',
    make: (dir) => ['questions', '--questions', file(dir, 'q.yaml', '- id: a\n  paraphrases: [unclosed\n')],
    expect: /q\.yaml \(line \d+, column \d+\): not valid YAML/,
  },
  {
    kind: 'questions', name: 'YAML that is a map, not a list',
    make: (dir) => ['questions', '--questions', file(dir, 'q.yaml', 'id: a\n')],
    expect: /q\.yaml: expected a list of questions/,
  },
  {
    kind: 'questions', name: 'a CSV without a question column',
    make: (dir) => ['questions', '--questions', file(dir, 'q.csv', 'text\nhello\n')],
    expect: /q\.csv: no "question" column \(found: text\)/,
  },
  {
    kind: 'questions', name: 'an empty .txt',
    make: (dir) => ['questions', '--questions', file(dir, 'q.txt', '\n# only a comment\n')],
    expect: /q\.txt: no questions/,
  },
  {
    kind: 'questions', name: 'an unknown extension',
    make: (dir) => ['questions', '--questions', file(dir, 'q.json', '[]')],
    expect: /q\.json: unknown question file type "\.json"/,
  },
  {
    kind: 'questions', name: 'a question file that does not exist',
    make: () => ['questions', '--questions', 'nothere.yaml'],
    expect: /Cannot read question file .*nothere\.yaml/,
  },
];
