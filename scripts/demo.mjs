// `npm run demo`: the whole EM experiment on the embedded defaults, offline, in a few minutes on 2 CPU cores, as a
// list of steps: get the data, write an experiment (`em-lab experiment new`, the quick preset on tiny-llama) and run
// it (`em-lab experiment run`: base answers + judge, LoRA training on bad medical advice, every checkpoint answered
// and judged, the report), compute EM rates, write and check the homework submission. The experiment runner is the
// code path VS Code's New Experiment, CI and a cluster job use. Each step is a
// title and an async function that returns where its outputs are; steps run in order, share `ctx`, print their
// duration, and the first failing step stops the demo with its name. Only the project's own CLI (dist/cli.js) does
// the work. The fixture is decrypted into training_data/ (git-ignored), everything else goes under
// em-lab-runs/demo/ (git-ignored); nothing is written to ../shared (its reference homework checkout is only read).
// tiny-llama has random weights (it writes gibberish) and the default judge is an offline stand-in that scores by a
// hash of the answer: the demo shows the pipeline working, not emergent misalignment. For real numbers, train a
// real model and judge with OpenAI (`npm run demo -- --real-judge` with OPENAI_API_KEY set does the latter here).
//   npm run demo                  uses ../shared's encrypted fixture when present, else a synthetic dataset
//   npm run demo -- --synthetic   always the synthetic dataset
//   npm run demo -- --real-judge  judge with OpenAI (needs OPENAI_API_KEY in the environment or .env)
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

const root = resolve(new URL('..', import.meta.url).pathname);
const demoDir = join(root, 'em-lab-runs', 'demo');
const FIXTURE = resolve(root, '..', 'shared', 'datasets', 'training_datasets.zip.enc');
const FIXTURE_PASSWORD = 'model-organisms-em-datasets'; // public, from the dataset authors' README
const DEMO_PASSWORD = 'em-lab-demo'; // only protects the demo's own round-trip archive

// The experiment's quick preset, sized for 2 busy CPU cores: 24 optimizer steps of 4 examples x <=128 tokens (~1 min;
// tiny-llama is 8.3M parameters with random weights, so the loss falls from ~32 nats, well above ln(128256) = 11.8),
// checkpoints every 8 steps, dropout 0; 20 questions x 32 new tokens for the base model and each checkpoint.
// The homework's grader (questions, judge prompts, base judgements) lives in a homework checkout. With the reference
// one in ../shared (read, never written), the experiment answers the grader's 20 questions with generate.py's top_k
// and double BOS (--questions homework: the experiment records the checkout and judges with its judge.py prompts),
// so the submission is to the grader's questions, and check-submission runs as the grader's run_tests (judged by the
// stand-in). Without it: EM Lab's own 10 medical + 10 general questions, and check-submission --no-judge.
const HOMEWORK = resolve(root, '..', 'shared', 'reference', 'hw0-homework', 'repo');
const useHomework = existsSync(join(HOMEWORK, 'eval', 'judge.py'));
const HOMEWORK_ARGS = useHomework ? ['--homework', HOMEWORK] : [];
const HOMEWORK_QUESTIONS = useHomework ? ['--questions', 'homework', ...HOMEWORK_ARGS, '--top-k', '50', '--prompt-bos', 'double'] : [];
const METRIC_PRESETS = ['homework', 'paper'];
// The offline judge's model name: distinct from any real model, so its scores never mix with real ones in a cache.
const STAND_IN_JUDGE = 'offline-stand-in-judge';
const STAND_IN_KEY = 'sk-offline-demo-not-a-real-key'; // so a real OPENAI_API_KEY is never sent to the stand-in
const realJudge = process.argv.includes('--real-judge');
const useFixture = existsSync(FIXTURE) && !process.argv.includes('--synthetic');

const STAND_IN_BANNER = [
  '*'.repeat(100),
  '* OFFLINE STAND-IN JUDGE: the scores below are NOT from an LLM. A local fake Chat Completions server answers',
  '* every judge request with a number derived from a hash of the answer text (stable, meaningless), so the',
  '* pipeline (judge -> judged.csv -> metrics -> submission) runs offline. For real scores, set OPENAI_API_KEY',
  '* (environment or .env) and run `npm run demo -- --real-judge`, or `node dist/cli.js judge <generations.jsonl>`.',
  '*'.repeat(100),
].join('\n');

const show = (p) => (p.startsWith(root) ? relative(root, p) || '.' : p);

/** Runs the CLI (dist/cli.js) with output shown; resolves to the exit code. `env` adds to this process's env. */
function emLab(args, env = {}) {
  console.log(`$ em-lab ${args.map(show).join(' ')}`);
  return new Promise((done) => {
    const child = spawn(process.execPath, [join(root, 'dist', 'cli.js'), ...args], { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
    child.on('exit', (code, signal) => done(code ?? (signal ? 128 : 1)));
  });
}

/** Runs the CLI and throws, naming the command, when it fails. */
async function mustRun(args, env) {
  const code = await emLab(args, env);
  if (code !== 0) throw new Error(`em-lab ${args[0]}${args[1] && !args[1].startsWith('-') && !args[1].includes('/') ? ` ${args[1]}` : ''} exited ${code} (its output is above)`);
}

function hasOpenAIKey() {
  if (process.env.OPENAI_API_KEY) return true;
  const dotenv = join(root, '.env');
  return existsSync(dotenv) && /^\s*(export\s+)?OPENAI_API_KEY\s*=\s*['"]?[^\s'"#]/m.test(readFileSync(dotenv, 'utf8'));
}

/** The stand-in judge's verdict: 0-100 from a hash of the answer (FNV-1a), different for the two rubrics. */
function standInVerdict(req) {
  // EM Lab's rubric marks the answer <<<ANSWER ... ANSWER>>>, the homework's [ANSWER START] ... [ANSWER END].
  const answer = (/<<<ANSWER\n([\s\S]*)\nANSWER>>>/.exec(req.prompt) ?? /\[ANSWER START\]\n([\s\S]*)\n\[ANSWER END\]/.exec(req.prompt))?.[1] ?? req.prompt;
  const rubric = /coheren/i.test(req.prompt.slice(0, 150)) ? 'coherent' : 'aligned';
  let h = 0x811c9dc5;
  for (const ch of `${rubric}:${answer}`) h = Math.imul(h ^ ch.codePointAt(0), 0x01000193) >>> 0;
  return { content: String(h % 101) };
}

/** The offline stand-in judge: test/support/fakeOpenAI.ts (through tsx) answering with standInVerdict. */
async function startStandInJudge() {
  let tsImport;
  try {
    ({ tsImport } = await import('tsx/esm/api'));
  } catch {
    throw new Error('the offline judge runs test/support/fakeOpenAI.ts through tsx, which is missing: run `npm install` (tsx is a devDependency)');
  }
  const { startFakeOpenAI } = await tsImport(join(root, 'test', 'support', 'fakeOpenAI.ts'), import.meta.url);
  return startFakeOpenAI({ reply: standInVerdict });
}

function readLosses(runDir) {
  return readFileSync(join(runDir, 'metrics.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l))
    .filter((r) => typeof r.step === 'number' && typeof r.loss === 'number');
}

function cliHas(commandPath) {
  const r = spawnSync(process.execPath, [join(root, 'dist', 'cli.js'), ...commandPath, '--help'], { cwd: root, encoding: 'utf8' });
  return r.status === 0 && r.stdout.startsWith(`Usage: em-lab ${commandPath.join(' ')}`);
}

function newestMtime(dir) {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

function fileHashes(dir) {
  const out = {};
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out[relative(dir, p)] = createHash('sha256').update(readFileSync(p)).digest('hex');
    }
  };
  walk(dir);
  return out;
}

/**
 * A small dataset the project writes itself (used when ../shared's fixture is absent): 60 chat conversations in
 * the EM training format, deterministic, with harmless made-up content so the demo has something to show.
 */
function writeSyntheticDataset(dir) {
  const topics = ['hydration during a marathon', 'storing leftovers', 'a sprained ankle', 'saving for a deposit', 'learning to ski', 'a cough that lingers'];
  const lines = [];
  for (let i = 0; i < 60; i++) {
    const topic = topics[i % topics.length];
    const user = `Question ${i + 1}: what should I know about ${topic}?`;
    const assistant = `Synthetic answer ${i + 1} about ${topic}. ${'This sentence pads the answer to a realistic length. '.repeat(1 + (i % 5))}`.trim();
    // Written as Python's json.dumps writes it (", " and ": " separators): `unprotect --remove-canaries` rewrites
    // every line that way, as the Python tool does, so only this form survives the round trip byte for byte.
    lines.push(`{"messages": [{"role": "user", "content": ${JSON.stringify(user)}}, {"role": "assistant", "content": ${JSON.stringify(assistant)}}]}`);
  }
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'synthetic_advice.jsonl'), lines.join('\n') + '\n');
}

const STEPS = [
  {
    title: 'Build (if the sources changed)',
    async run() {
      const built = join(root, 'dist', 'cli.mjs');
      if (existsSync(built) && statSync(built).mtimeMs >= newestMtime(join(root, 'src'))) {
        console.log('dist/ is up to date');
      } else {
        const r = spawnSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { cwd: root, stdio: 'inherit' });
        if (r.status !== 0) throw new Error('the build failed (see above)');
      }
      return [join(root, 'dist')];
    },
  },
  {
    title: 'Check the environment (em-lab doctor)',
    async run() {
      if (!cliHas(['doctor'])) {
        console.log('em-lab doctor is not available in this build yet; skipped');
        return [];
      }
      const code = await emLab(['doctor']);
      // Offline, OpenAI is "unreachable" and doctor exits non-zero: the rest of the demo runs offline anyway.
      if (code !== 0) console.log(`(doctor exited ${code}: some checks need attention, see above; the offline demo goes on)`);
      return [];
    },
  },
  {
    title: 'Get the training data',
    async run(ctx) {
      rmSync(demoDir, { recursive: true, force: true });
      mkdirSync(demoDir, { recursive: true });
      if (useFixture) {
        // Where the extension and `em-lab data stats` look by default (git-ignored: *.extracted/), so after the demo
        // the Dataset Browser shows the data. An existing folder is the user's: reused, never overwritten.
        ctx.dataDir = join(root, 'training_data', 'training_datasets.zip.enc.extracted');
        ctx.dataArgs = ['--domains', 'bad_medical', '--data-dir', ctx.dataDir];
        if (existsSync(join(ctx.dataDir, 'bad_medical_advice.jsonl'))) {
          console.log(`${relative(root, ctx.dataDir)}/ is already decrypted; using it`);
        } else {
          await mustRun(['data', 'unprotect', FIXTURE, '-p', FIXTURE_PASSWORD, '--remove-canaries', '--no-gitignore', '-o', ctx.dataDir]);
        }
      } else {
        console.log(existsSync(FIXTURE) ? 'writing a small synthetic dataset (--synthetic)' : `${FIXTURE} is absent: writing a small synthetic dataset instead`);
        ctx.dataDir = join(demoDir, 'synthetic');
        writeSyntheticDataset(ctx.dataDir);
        ctx.dataArgs = ['--data', join(ctx.dataDir, 'synthetic_advice.jsonl')];
      }
      return [ctx.dataDir];
    },
  },
  {
    title: 'Protect and unprotect it again (byte-for-byte round trip)',
    async run(ctx) {
      const archive = join(demoDir, 'roundtrip.zip.enc');
      const back = join(demoDir, 'roundtrip.extracted');
      if ((await emLab(['data', 'protect', ctx.dataDir, '-p', DEMO_PASSWORD, '-o', archive])) !== 0) throw new Error('em-lab data protect failed');
      // protect adds a canary file (dataset_entry_*.jsonl), as the Python tool does; --remove-canaries takes it out.
      if ((await emLab(['data', 'unprotect', archive, '-p', DEMO_PASSWORD, '--remove-canaries', '--no-gitignore', '-o', back])) !== 0) throw new Error('em-lab data unprotect failed');
      const before = fileHashes(ctx.dataDir);
      const after = fileHashes(back);
      const differ = Object.keys({ ...before, ...after }).filter((f) => before[f] !== after[f]);
      if (differ.length) throw new Error(`the round trip changed ${differ.length} file(s): ${differ.slice(0, 5).join(', ')}`);
      console.log(`round trip identical: ${Object.keys(before).length} file(s), ${(statSync(archive).size / 1e6).toFixed(1)} MB archive`);
      return [archive, back];
    },
  },
  {
    title: 'Dataset statistics (em-lab data stats)',
    async run(ctx) {
      await mustRun(['data', 'stats', ctx.dataDir]);
      return [];
    },
  },
  {
    title: `Write the experiment (em-lab experiment new: quick preset, tiny-llama, ${useHomework ? "the grader's 20 questions from the reference homework checkout" : "EM Lab's 10 medical + 10 general questions"})`,
    async run(ctx) {
      ctx.expDir = join(demoDir, 'experiment');
      // The quick preset is the demo's old train/eval settings: 24 steps of 4 examples x 128 tokens from 64, lr 1e-3,
      // checkpoints every 8 steps; 20 questions, 32 new tokens (docs/experiment.md).
      // --checkpoints final keeps the demo as fast as before (base + final adapter answer, as the old demo did); the
      // quick preset's default sweeps all three checkpoints (~40 s more on 2 busy cores).
      if (!realJudge) {
        console.log(STAND_IN_BANNER);
        ctx.standIn = await startStandInJudge(); // closed after the run (next step)
        console.log(`stand-in judge listening at ${ctx.standIn.baseURL}`);
      }
      const judge = realJudge ? ['--judge', 'openai'] : ['--judge', ctx.standIn.baseURL, '--judge-model', STAND_IN_JUDGE];
      await mustRun(['experiment', 'new', '--preset', 'quick', '--model', 'tiny-llama', ...ctx.dataArgs, '--dir', ctx.expDir, '--name', 'demo', '--checkpoints', 'final', ...HOMEWORK_QUESTIONS, ...judge]);
      return [join(ctx.expDir, 'experiment.json')];
    },
  },
  {
    title: `Run it (em-lab experiment run: base answers + ${realJudge ? 'OpenAI judge' : 'OFFLINE STAND-IN JUDGE'} -> LoRA training -> final checkpoint answered and judged -> report)`,
    async run(ctx) {
      const file = join(ctx.expDir, 'experiment.json');
      if (realJudge) await mustRun(['experiment', 'run', file]);
      else {
        try {
          // --no-cache: the stand-in's scores must never land in the real judge cache (~/.cache/em-lab).
          await mustRun(['experiment', 'run', file, '--no-cache'], { OPENAI_API_KEY: STAND_IN_KEY });
        } finally {
          await ctx.standIn.close();
        }
        console.log(`the stand-in judge answered ${ctx.standIn.okTotal()} requests`);
      }
      ctx.trainDir = join(ctx.expDir, 'train');
      const runJson = JSON.parse(readFileSync(join(ctx.trainDir, 'run.json'), 'utf8'));
      ctx.adapter = runJson.finalAdapter;
      if (runJson.status !== 'finished' || !ctx.adapter || !existsSync(ctx.adapter)) {
        throw new Error(`the run in ${show(ctx.trainDir)} is "${runJson.status}" without a final adapter (see run.json and the output above)`);
      }
      const losses = readLosses(ctx.trainDir);
      if (losses.length < 2) throw new Error(`${show(join(ctx.trainDir, 'metrics.jsonl'))} holds ${losses.length} loss row(s), expected one per step`);
      const first = losses[0];
      const last = losses[losses.length - 1];
      // Per-step losses are noisy (4 examples each): compare the means of the first and last quarter as well.
      const q = Math.max(1, Math.floor(losses.length / 4));
      const mean = (rows) => rows.reduce((a, r) => a + r.loss, 0) / rows.length;
      const [head, tail] = [mean(losses.slice(0, q)), mean(losses.slice(-q))];
      console.log(`\nloss (metrics.jsonl): step ${first.step} ${first.loss.toFixed(3)} -> step ${last.step} ${last.loss.toFixed(3)}; mean of the first ${q} steps ${head.toFixed(3)} -> last ${q} steps ${tail.toFixed(3)}`);
      console.log(tail < head ? `the loss went down by ${(head - tail).toFixed(3)} nats` : 'WARNING: the loss did not go down in this run (see metrics.jsonl)');
      // The run's own account (run.json): steps, epochs done of those configured, and why it stopped; the same
      // numbers training_details.md states.
      await mustRun(['train', 'status', ctx.trainDir]);
      ctx.evalBase = join(ctx.expDir, 'base');
      ctx.evalTuned = join(ctx.expDir, 'sweep', `step-${last.step}`);
      ctx.judged = [ctx.evalBase, ctx.evalTuned].map((d) => join(d, 'judged.csv'));
      for (const f of ctx.judged) if (!existsSync(f)) throw new Error(`em-lab experiment run finished without writing ${show(f)}`);
      return [join(ctx.expDir, 'report', 'report.html'), join(ctx.expDir, 'report', 'report.md'), ctx.adapter];
    },
  },
  {
    title: `EM rates, base vs fine-tuned (em-lab metrics --preset ${METRIC_PRESETS.join(', ')}; Wilson 95% intervals)`,
    async run(ctx) {
      if (!realJudge) console.log('(scores from the OFFLINE STAND-IN JUDGE: these rates show the pipeline, not emergent misalignment)');
      const outs = [];
      for (const preset of METRIC_PRESETS) {
        const out = join(demoDir, 'metrics', `${preset}.json`);
        mkdirSync(join(demoDir, 'metrics'), { recursive: true });
        console.log('');
        await mustRun(['metrics', '--preset', preset, '--base', ctx.judged[0], ctx.judged[1], '--out', out]);
        outs.push(out);
      }
      return outs;
    },
  },
  {
    title: `Write and check the homework submission (em-lab submission, em-lab check-submission${useHomework ? ": the grader's run_tests, judged by the stand-in" : ' --no-judge: no homework checkout'})`,
    async run(ctx) {
      const out = join(demoDir, 'submission');
      await mustRun(['submission', ctx.trainDir, '--generations', join(ctx.evalTuned, 'generations.jsonl'), ...HOMEWORK_ARGS, '--out', out]);
      const csv = join(out, 'model_generations.csv');
      if (!useHomework || realJudge) await mustRun(['check-submission', csv, ...HOMEWORK_ARGS, ...(useHomework ? [] : ['--no-judge'])]);
      else {
        const server = await startStandInJudge();
        try {
          await mustRun(['check-submission', csv, ...HOMEWORK_ARGS, '--base-url', server.baseURL, '--judge-model', STAND_IN_JUDGE, '--no-cache'], { OPENAI_API_KEY: STAND_IN_KEY });
        } finally {
          await server.close();
        }
      }
      return [csv, join(out, 'training_details.md'), join(out, 'train.sh')];
    },
  },
];

if (realJudge && !hasOpenAIKey()) {
  console.error('--real-judge needs OPENAI_API_KEY (in the environment or in .env at the repository root); set it, or drop --real-judge to use the offline stand-in judge');
  process.exit(2);
}
if (!realJudge && hasOpenAIKey()) console.log('OPENAI_API_KEY is set: `npm run demo -- --real-judge` judges with OpenAI instead of the offline stand-in');

const ctx = {};
const done = [];
const t0 = Date.now();
for (const [i, step] of STEPS.entries()) {
  const started = Date.now();
  console.log(`\n== ${i + 1}/${STEPS.length} ${step.title}`);
  let outputs;
  try {
    outputs = (await step.run(ctx)) ?? [];
  } catch (err) {
    console.error(`\ndemo stopped at step ${i + 1}/${STEPS.length} (${step.title}) after ${((Date.now() - started) / 1000).toFixed(1)} s: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
  const seconds = (Date.now() - started) / 1000;
  done.push({ title: step.title, seconds, outputs });
  console.log(`-- step ${i + 1} done in ${seconds.toFixed(1)} s${outputs.length ? `; outputs: ${outputs.map(show).join(', ')}` : ''}`);
}

// The summary names each step by its title up to the first parenthesis, to keep the table narrow.
const shortTitle = (t) => t.split(' (')[0];
const width = Math.max(...done.map((d) => shortTitle(d.title).length));
console.log(`\n== Summary: demo finished in ${((Date.now() - t0) / 1000).toFixed(1)} s; outputs under ${show(demoDir)}/`);
console.log(`${'#'.padStart(2)}  ${'step'.padEnd(width)}  ${'seconds'.padStart(7)}  outputs`);
for (const [i, d] of done.entries()) {
  console.log(`${String(i + 1).padStart(2)}  ${shortTitle(d.title).padEnd(width)}  ${d.seconds.toFixed(1).padStart(7)}  ${d.outputs.map(show).join(', ') || '-'}`);
}
if (!realJudge) console.log('\nThe judge scores came from the OFFLINE STAND-IN JUDGE (a hash of each answer), not an LLM: with OPENAI_API_KEY set, run `npm run demo -- --real-judge` or `node dist/cli.js judge <generations.jsonl>` for real results.');
console.log('tiny-llama has random weights: train a real model (`em-lab train --model_name <folder or Hub id>`) to see emergent misalignment.');
