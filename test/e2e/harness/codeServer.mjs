// code-server 4.100.3 (VS Code 1.100.3, the newest release that runs on Node 20): installed into a cache folder of
// its own, never into the project's dependencies, then started on loopback for one harness run.
// Every step follows ../shared/docs/vscode-e2e.md, which was verified on this kind of machine.
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { existsSync, mkdirSync, writeFileSync, openSync, closeSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';

export const CODE_SERVER_VERSION = '4.100.3';
// code-server pins @vscode/ripgrep 1.15.11, whose postinstall downloads this rg build from GitHub (unreachable
// here). Pre-seeding its download cache with Debian's rg, under the file name it expects, skips the download.
const RIPGREP_CACHE = join(tmpdir(), 'vscode-ripgrep-cache-1.15.11');
const RIPGREP_ASSET = 'ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz';

export function codeServerBin(cacheDir) {
  return join(cacheDir, `code-server-${CODE_SERVER_VERSION}`, 'node_modules', '.bin', 'code-server');
}

function which(cmd) {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/** Names the Debian packages the harness needs and that are missing, so the error can say exactly what to run. */
export function missingSystemPackages() {
  const missing = [];
  if (!existsSync('/usr/bin/chromium')) missing.push('chromium');
  if (!which('rg')) missing.push('ripgrep');
  if (!existsSync('/usr/include/krb5.h') && !existsSync('/usr/include/krb5/krb5.h')) missing.push('libkrb5-dev');
  if (!which('make') || !which('g++')) missing.push('build-essential');
  return missing;
}

/**
 * Installs code-server into `<cacheDir>/code-server-<version>/` unless a finished install is already there
 * (a marker file is written last, so an interrupted install is redone). About 90-140 s and 300 MB the first time:
 * argon2 and kerberos compile from source because their prebuilt binaries can't be fetched.
 */
export async function ensureCodeServer(cacheDir, log) {
  const dir = join(cacheDir, `code-server-${CODE_SERVER_VERSION}`);
  const marker = join(dir, '.installed');
  const bin = codeServerBin(cacheDir);
  if (existsSync(marker) && existsSync(bin)) return bin;

  const rg = which('rg');
  if (!rg) throw new Error('ripgrep (rg) is not installed; code-server needs it. Run: apt-get install -y ripgrep');
  mkdirSync(RIPGREP_CACHE, { recursive: true });
  const asset = join(RIPGREP_CACHE, RIPGREP_ASSET);
  if (!existsSync(asset)) {
    const tar = spawnSync('tar', ['czf', asset, '-C', rg.replace(/\/rg$/, ''), 'rg']);
    if (tar.status !== 0) throw new Error(`could not pre-seed the ripgrep cache at ${asset}: ${tar.stderr}`);
  }

  mkdirSync(dir, { recursive: true });
  // A package.json of its own, so npm installs here and never reads or touches the project's package.json/.npmrc.
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'em-lab-e2e-code-server', private: true }, null, 2) + '\n');
  const logFile = join(cacheDir, 'code-server-install.log');
  log(`installing code-server ${CODE_SERVER_VERSION} into ${dir} (first run only, about 2-4 minutes; log: ${logFile})`);
  const started = Date.now();
  const fd = openSync(logFile, 'w');
  // Drop the npm_* variables an outer `npm run test:e2e` exports (local_prefix, the project's .npmrc settings...):
  // this install must behave as if run by hand in its own folder.
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
  const env = {
    ...inherited,
    npm_config_unsafe_perm: 'true', // its postinstall refuses to run as root otherwise
    npm_config_yes: 'true', // node-pty's postinstall runs `npx node-gyp`; a yes=false npmrc would cancel it
    npm_config_fund: 'false',
    npm_config_audit: 'false',
    npm_config_update_notifier: 'false',
  };
  const code = await new Promise((resolve) => {
    const child = spawn('npm', ['install', '--no-save', '--no-package-lock', `code-server@${CODE_SERVER_VERSION}`], { cwd: dir, env, stdio: ['ignore', fd, fd] });
    // 10 minutes: far above the 1-4 minutes it takes on 2 busy cores; a hung install must not hang CI.
    const timer = setTimeout(() => child.kill('SIGKILL'), 10 * 60_000);
    child.on('exit', (c, signal) => {
      clearTimeout(timer);
      resolve(c ?? (signal ? 128 : 1));
    });
    child.on('error', () => resolve(127));
  });
  closeSync(fd);
  if (code !== 0 || !existsSync(bin)) {
    const tail = readFileSync(logFile, 'utf8').split('\n').slice(-25).join('\n');
    throw new Error(`npm install code-server@${CODE_SERVER_VERSION} failed (exit ${code}). Last lines of ${logFile}:\n${tail}\n` +
      'If it failed compiling kerberos or argon2, install the build packages: apt-get install -y libkrb5-dev build-essential');
  }
  writeFileSync(marker, new Date().toISOString() + '\n');
  log(`code-server installed in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return bin;
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const USER_SETTINGS = {
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoUpdate': false,
  'extensions.autoCheckUpdates': false,
  'extensions.ignoreRecommendations': true,
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'security.workspace.trust.enabled': false,
  'chat.disableAIFeatures': true,
};

/** The fresh user-data and extensions folders of one harness run, under `stateDir`, with our user settings. */
function stateDirs(stateDir) {
  const userData = join(stateDir, 'user-data');
  const extensions = join(stateDir, 'extensions');
  mkdirSync(join(userData, 'User'), { recursive: true });
  mkdirSync(extensions, { recursive: true });
  writeFileSync(join(userData, 'User', 'settings.json'), JSON.stringify(USER_SETTINGS, null, 2));
  return { userData, extensions, config: join(stateDir, 'config.yaml') };
}

/**
 * Installs a VSIX as a user would (`code-server --install-extension`, about 3 s) into the run's clean extensions
 * folder, and returns the folder the extension was unpacked into (<stateDir>/extensions/<publisher>.<name>-<version>).
 */
export async function installExtension({ bin, stateDir, vsix, extensionId, log }) {
  const { userData, extensions, config } = stateDirs(stateDir);
  if (!existsSync(config)) writeFileSync(config, 'auth: none\n'); // else code-server writes ~/.config/code-server/config.yaml
  const started = Date.now();
  const r = spawnSync(bin, ['--config', config, '--user-data-dir', userData, '--extensions-dir', extensions, '--install-extension', vsix], {
    env: { ...process.env, EXTENSIONS_GALLERY: '{}' },
    encoding: 'utf8',
    timeout: 120_000,
  });
  const output = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
  const prefix = `${extensionId.toLowerCase()}-`;
  const installed = readdirSync(extensions).filter((d) => d.toLowerCase().startsWith(prefix));
  if (r.status !== 0 || installed.length !== 1 || !/successfully installed/.test(output)) {
    throw new Error(`code-server --install-extension ${vsix} failed (exit ${r.status ?? r.signal}; found ${JSON.stringify(installed)} in ${extensions}):\n${output.split('\n').slice(-15).join('\n')}`);
  }
  const dir = join(extensions, installed[0]);
  log(`installed ${basename(vsix)} into ${dir} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return dir;
}

/**
 * Starts code-server on 127.0.0.1:<free port> with a fresh user-data-dir under `stateDir`, and resolves once
 * /healthz answers (1-5 s normally; gives up after 60 s). Returns { url, port, stop() }; stop() kills the process
 * group and is safe to call twice. `onSpawn(stop)` is called as soon as the process exists, so a caller
 * interrupted during start-up can still stop it. `env` is added to the server's environment, which the extension
 * host it forks inherits.
 */
export async function startCodeServer({ bin, stateDir, logFile, log, onSpawn, env = {} }) {
  const port = await freePort();
  const { userData, extensions, config } = stateDirs(stateDir);
  writeFileSync(config, [
    `bind-addr: 127.0.0.1:${port}`,
    'auth: none',
    'cert: false',
    'disable-telemetry: true',
    'disable-update-check: true',
    'disable-workspace-trust: true',
    'disable-getting-started-override: true',
    '',
  ].join('\n'));
  const fd = openSync(logFile, 'w');
  const child = spawn(bin, ['--config', config, '--user-data-dir', userData, '--extensions-dir', extensions, '--ignore-last-opened'], {
    env: { ...process.env, ...env, EXTENSIONS_GALLERY: '{}' }, // never look up a marketplace
    stdio: ['ignore', fd, fd],
    detached: true, // its own process group, so stop() also ends the extension hosts it forked
  });
  closeSync(fd);
  let exited = false;
  child.on('exit', () => { exited = true; });
  const stop = async () => {
    if (exited || child.pid === undefined) return;
    try { process.kill(-child.pid, 'SIGTERM'); } catch { /* already gone */ }
    const deadline = Date.now() + 5000;
    while (!exited && Date.now() < deadline) await sleep(100);
    if (!exited) try { process.kill(-child.pid, 'SIGKILL'); } catch { /* already gone */ }
  };
  onSpawn?.(stop);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (exited) throw new Error(`code-server exited during startup; see ${logFile}`);
    try {
      const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2000) });
      if (res.ok) {
        log(`code-server ready at ${url} (pid ${child.pid})`);
        return { url, port, stop };
      }
    } catch { /* not listening yet */ }
    await sleep(250);
  }
  await stop();
  throw new Error(`code-server did not answer ${url}/healthz within 60 s; see ${logFile}`);
}

export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}
