// Test-only preload (`node --require test/support/faultPreload.cjs dist/cli.js ...`): injects faults into a real CLI
// process and measures it, without any hook in the product. Patches node:fs and re-syncs the ES-module views of
// it (syncBuiltinESMExports), so the bundled CLI's `import { renameSync } from 'node:fs'` sees the patched calls.
//   EM_LAB_FAULT_RENAME_LOG=FILE            append every rename's destination to FILE (to count kill points)
//   EM_LAB_FAULT_KILL_AT_RENAME=TEXT:N      SIGKILL this process at the N-th rename whose destination contains TEXT
//   EM_LAB_FAULT_DISK_FULL_AFTER=TEXT       after a rename whose destination ends with TEXT, the disk is "full":
//                                           creating, truncating or appending a file fails with ENOSPC, while
//                                           overwriting an existing file's bytes in place ('r+') still works
//   EM_LAB_FAULT_ERRNO=CODE:PREFIX          creating, writing, renaming to or making a folder at a path that starts with
//                                           PREFIX fails with CODE (EROFS, ENOSPC, EACCES...), sync and promise calls
//   EM_LAB_FAULT_RSS_FILE=FILE              write {"maxRssKiB": N} (peak resident memory) to FILE at exit
'use strict';
const fs = require('node:fs');
const { syncBuiltinESMExports } = require('node:module');
const env = process.env;

const onRename = [];
function wrapRename() {
  const sync = fs.renameSync;
  fs.renameSync = function (from, to) {
    for (const f of onRename) f(String(to));
    return sync.apply(this, arguments);
  };
  const promised = fs.promises.rename;
  fs.promises.rename = function (from, to) {
    for (const f of onRename) f(String(to));
    return promised.apply(this, arguments);
  };
}

if (env.EM_LAB_FAULT_RENAME_LOG) {
  const log = env.EM_LAB_FAULT_RENAME_LOG;
  const append = fs.appendFileSync;
  onRename.push((to) => append(log, to + '\n'));
}
if (env.EM_LAB_FAULT_KILL_AT_RENAME) {
  const spec = env.EM_LAB_FAULT_KILL_AT_RENAME;
  const cut = spec.lastIndexOf(':');
  const text = spec.slice(0, cut);
  const n = Number(spec.slice(cut + 1));
  let seen = 0;
  onRename.push((to) => {
    if (to.includes(text) && ++seen === n) process.kill(process.pid, 'SIGKILL');
  });
}
if (env.EM_LAB_FAULT_DISK_FULL_AFTER) {
  const trigger = env.EM_LAB_FAULT_DISK_FULL_AFTER;
  let full = false;
  onRename.push((to) => {
    if (to.endsWith(trigger)) setImmediate(() => (full = true)); // this rename itself still succeeds
  });
  const enospc = (syscall, path) => Object.assign(new Error(`ENOSPC: no space left on device, ${syscall} '${path}'`), { errno: -28, code: 'ENOSPC', syscall, path: String(path) });
  const open = fs.openSync;
  fs.openSync = function (path, flags) {
    if (full && typeof flags === 'string' && /[wax]/.test(flags)) throw enospc('open', path);
    return open.apply(this, arguments);
  };
  for (const name of ['writeFileSync', 'appendFileSync']) {
    const orig = fs[name];
    fs[name] = function (path) {
      if (full && typeof path !== 'number') throw enospc('open', path);
      return orig.apply(this, arguments);
    };
  }
  const mkdir = fs.mkdirSync;
  fs.mkdirSync = function (path) {
    if (full && !fs.existsSync(path)) throw enospc('mkdir', path);
    return mkdir.apply(this, arguments);
  };
}
if (env.EM_LAB_FAULT_ERRNO) {
  const spec = env.EM_LAB_FAULT_ERRNO;
  const cut = spec.indexOf(':');
  const code = spec.slice(0, cut);
  const prefix = spec.slice(cut + 1);
  const fail = (syscall, path) => Object.assign(new Error(`${code}: simulated, ${syscall} '${path}'`), { code, syscall, path: String(path) });
  const hits = (path) => typeof path === 'string' && path.startsWith(prefix);
  const writes = (flags) => typeof flags === 'string' && /[wax+]/.test(flags);
  // [name, syscall, which argument is the target path, only when opened for writing]
  const calls = [['mkdir', 'mkdir', 0], ['writeFile', 'open', 0], ['appendFile', 'open', 0], ['rename', 'rename', 1], ['open', 'open', 0, true], ['copyFile', 'copyfile', 1]];
  for (const [name, syscall, at, onlyWrites] of calls) {
    const sync = fs[`${name}Sync`];
    fs[`${name}Sync`] = function () {
      if (hits(arguments[at]) && (!onlyWrites || writes(arguments[1]))) throw fail(syscall, arguments[at]);
      return sync.apply(this, arguments);
    };
    const promised = fs.promises[name];
    fs.promises[name] = function () {
      if (hits(arguments[at]) && (!onlyWrites || writes(arguments[1]))) return Promise.reject(fail(syscall, arguments[at]));
      return promised.apply(this, arguments);
    };
  }
}
if (env.EM_LAB_FAULT_RSS_FILE) {
  // Peak resident memory of this process image: /proc/self/status VmHWM on Linux. Not resourceUsage().maxRSS:
  // Linux carries the parent's peak into a child across fork and exec, so a CLI spawned by a 800 MB test runner
  // would report 800 MB.
  const file = env.EM_LAB_FAULT_RSS_FILE;
  const write = fs.writeFileSync;
  const read = fs.readFileSync;
  process.on('exit', () => {
    let kib = process.resourceUsage().maxRSS;
    try {
      kib = Number(/VmHWM:\s+(\d+) kB/.exec(read('/proc/self/status', 'utf8'))[1]);
    } catch {
      // not Linux: the inherited figure is an upper bound
    }
    write(file, JSON.stringify({ maxRssKiB: kib }));
  });
}
if (onRename.length) wrapRename();
syncBuiltinESMExports();
