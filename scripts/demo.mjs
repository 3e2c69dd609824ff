// `npm run demo`: the main job on the embedded defaults, offline, as a list of steps. Each step is a title and an
// async function; to extend the demo (train tiny-llama, generate, judge against the local fake server...), add a
// step to STEPS. Steps run in order, share `ctx`, print their duration, and the first failing step stops the demo.
// The fixture is decrypted into training_data/ (git-ignored), everything else goes under em-lab-runs/demo/
// (git-ignored); nothing touches ../shared.
//   npm run demo                  uses ../shared's encrypted fixture when present, else a synthetic dataset
//   npm run demo -- --synthetic   always the synthetic dataset
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

const root = resolve(new URL('..', import.meta.url).pathname);
const demoDir = join(root, 'em-lab-runs', 'demo');
const FIXTURE = resolve(root, '..', 'shared', 'datasets', 'training_datasets.zip.enc');
const FIXTURE_PASSWORD = 'model-organisms-em-datasets'; // public, from the dataset authors' README
const DEMO_PASSWORD = 'em-lab-demo'; // only protects the demo's own round-trip archive

/** Runs the CLI (dist/cli.js) with output shown; resolves to the exit code. */
function emLab(args) {
  console.log(`$ em-lab ${args.map((a) => (a.startsWith(root) ? relative(root, a) || '.' : a)).join(' ')}`);
  return new Promise((done) => {
    const child = spawn(process.execPath, [join(root, 'dist', 'cli.js'), ...args], { cwd: root, stdio: 'inherit' });
    child.on('exit', (code, signal) => done(code ?? (signal ? 128 : 1)));
  });
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
      if (existsSync(built) && statSync(built).mtimeMs >= newestMtime(join(root, 'src'))) return console.log('dist/ is up to date');
      const r = spawnSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { cwd: root, stdio: 'inherit' });
      if (r.status !== 0) throw new Error('the build failed (see above)');
    },
  },
  {
    title: 'Check the environment (em-lab doctor)',
    async run() {
      if (!cliHas(['doctor'])) return console.log('em-lab doctor is not available in this build yet; skipped');
      const code = await emLab(['doctor']);
      // Offline, OpenAI is "unreachable" and doctor exits non-zero: the rest of the demo runs offline anyway.
      if (code !== 0) console.log(`(doctor exited ${code}: some checks need attention, see above; the offline demo goes on)`);
    },
  },
  {
    title: 'Get the training data',
    async run(ctx) {
      rmSync(demoDir, { recursive: true, force: true });
      mkdirSync(demoDir, { recursive: true });
      if (existsSync(FIXTURE) && !process.argv.includes('--synthetic')) {
        // Where the extension and `em-lab data stats` look by default (git-ignored: *.extracted/), so after the demo
        // the Dataset Browser shows the data. An existing folder is the user's: reused, never overwritten.
        ctx.dataDir = join(root, 'training_data', 'training_datasets.zip.enc.extracted');
        if (existsSync(ctx.dataDir) && readdirSync(ctx.dataDir).some((f) => f.endsWith('.jsonl'))) {
          return console.log(`${relative(root, ctx.dataDir)}/ is already decrypted; using it`);
        }
        const code = await emLab(['data', 'unprotect', FIXTURE, '-p', FIXTURE_PASSWORD, '--remove-canaries', '--no-gitignore', '-o', ctx.dataDir]);
        if (code !== 0) throw new Error(`em-lab data unprotect exited ${code}`);
      } else {
        console.log(existsSync(FIXTURE) ? 'writing a small synthetic dataset (--synthetic)' : `${FIXTURE} is absent: writing a small synthetic dataset instead`);
        ctx.dataDir = join(demoDir, 'synthetic');
        writeSyntheticDataset(ctx.dataDir);
      }
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
    },
  },
  {
    title: 'Dataset statistics (em-lab data stats)',
    async run(ctx) {
      const code = await emLab(['data', 'stats', ctx.dataDir]);
      if (code !== 0) throw new Error(`em-lab data stats exited ${code}`);
    },
  },
];

const ctx = {};
const t0 = Date.now();
for (const [i, step] of STEPS.entries()) {
  const started = Date.now();
  console.log(`\n== ${i + 1}/${STEPS.length} ${step.title}`);
  try {
    await step.run(ctx);
  } catch (err) {
    console.error(`\ndemo stopped at step ${i + 1} (${step.title}): ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
  console.log(`(${((Date.now() - started) / 1000).toFixed(1)} s)`);
}
console.log(`\ndemo finished in ${((Date.now() - t0) / 1000).toFixed(1)} s; outputs in ${relative(root, demoDir)}/`);
