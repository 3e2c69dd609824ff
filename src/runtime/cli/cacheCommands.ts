// `em-lab cache` (show) and `em-lab cache prune`: what EM Lab keeps on disk (models, ONNX exports and training
// graphs, judge answers, CUDA downloads), with sizes, and deleting it by kind or by name.
import { resolve } from 'node:path';
import { UserError } from '../errors';
import { CACHE_KINDS, defaultStorageDir, formatBytes, listCaches, pruneCaches, type CacheEntry, type CacheKind } from '../storage';
import { bool, num, str, type CliCommand, type CliIO, type OptionSpec, type ParsedArgs } from './command';
import { formatTable } from './table';

const KINDS = Object.keys(CACHE_KINDS) as CacheKind[];

const STORAGE: Record<string, OptionSpec> = {
  storage: { type: 'string', description: 'Where EM Lab keeps models and caches. Default: $EM_LAB_STORAGE or ~/.em-lab.', valueName: 'DIR' },
};

function storageFrom(args: ParsedArgs, io: CliIO): string {
  const given = str(args, 'storage');
  return given ? resolve(io.cwd, given) : defaultStorageDir(io.env);
}

const kindsHelp = KINDS.map((k) => `  ${k.padEnd(10)} ${CACHE_KINDS[k]}`).join('\n');

function printEntries(entries: CacheEntry[], io: CliIO): void {
  const rows = entries.map((e) => [e.kind, e.name, formatBytes(e.bytes), e.modifiedMs ? new Date(e.modifiedMs).toISOString().slice(0, 10) : '-']);
  io.out(formatTable(['kind', 'entry', 'size', 'modified'], rows));
}

export const cacheShowCommand: CliCommand = {
  path: ['cache'],
  summary: 'Show what EM Lab keeps on disk (models, ONNX exports and training graphs, judge answers, CUDA downloads) with sizes.',
  details: `Kinds:\n${kindsHelp}\nFree space with \`em-lab cache prune <kind|entry>...\`.\nExample: em-lab cache --json`,
  options: STORAGE,
  async run(args, io) {
    const storage = storageFrom(args, io);
    const entries = listCaches(storage, io.env);
    io.out(`EM Lab storage: ${storage}`);
    if (entries.length === 0) io.out('Nothing cached yet.');
    else {
      printEntries(entries, io);
      io.out('');
      const totals = KINDS.map((k) => [k, formatBytes(entries.filter((e) => e.kind === k).reduce((s, e) => s + e.bytes, 0))]);
      io.out(`${totals.map(([k, b]) => `${k} ${b}`).join(', ')}; total ${formatBytes(entries.reduce((s, e) => s + e.bytes, 0))}`);
      io.out('Free space: em-lab cache prune <kind|entry>... (kinds: models, artifacts, judge, cuda, all)');
    }
    for (const e of entries) io.event({ event: 'entry', ...e });
    io.event({ event: 'summary', storage, bytes: entries.reduce((s, e) => s + e.bytes, 0), byKind: Object.fromEntries(KINDS.map((k) => [k, entries.filter((e) => e.kind === k).reduce((s, e) => s + e.bytes, 0)])) });
    return 0;
  },
};

/** The entries `what` names: a kind, `all`, or an entry name as `em-lab cache` prints it. */
export function selectEntries(entries: CacheEntry[], what: readonly string[], olderThanDays?: number): CacheEntry[] {
  const unknown = what.filter((w) => w !== 'all' && !KINDS.includes(w as CacheKind) && !entries.some((e) => e.name === w));
  if (unknown.length) {
    throw new UserError('cache-unknown', `Nothing cached is called ${unknown.map((u) => `"${u}"`).join(', ')}. Name a kind (${KINDS.join(', ')}, all) or an entry as \`em-lab cache\` lists it.`);
  }
  const cutoff = olderThanDays === undefined ? Infinity : Date.now() - olderThanDays * 86_400_000;
  return entries.filter((e) => (what.includes('all') || what.includes(e.kind) || what.includes(e.name)) && e.modifiedMs <= cutoff);
}

export const cachePruneCommand: CliCommand = {
  path: ['cache', 'prune'],
  summary: 'Delete cached models, artifacts, judge answers or CUDA downloads, by kind or by entry name.',
  details: `Kinds:\n${kindsHelp}\nExamples:\n  em-lab cache prune artifacts\n  em-lab cache prune hf/meta-llama--Llama-3.2-1B-Instruct --dry-run\n  em-lab cache prune all --older-than 30`,
  positionals: [{ name: 'WHAT', description: `${KINDS.join(' | ')} | all | an entry name from \`em-lab cache\``, required: true, variadic: true }],
  options: {
    ...STORAGE,
    'older-than': { type: 'string', description: 'Only entries not modified for this many days.', valueName: 'DAYS' },
    'dry-run': { type: 'boolean', description: 'List what would be deleted, delete nothing.' },
  },
  async run(args, io) {
    const days = num(args, 'older-than');
    if (days !== undefined && days < 0) throw new UserError('bad-option', `--older-than expects a number of days >= 0, got ${days}.`);
    const storage = storageFrom(args, io);
    const chosen = selectEntries(listCaches(storage, io.env), args.positionals, days);
    const bytes = chosen.reduce((s, e) => s + e.bytes, 0);
    if (chosen.length === 0) {
      io.out('Nothing to prune.');
      io.event({ event: 'pruned', dryRun: bool(args, 'dry-run'), entries: [], bytes: 0 });
      return 0;
    }
    printEntries(chosen, io);
    const dryRun = bool(args, 'dry-run');
    const freed = dryRun ? bytes : pruneCaches(chosen);
    io.out(dryRun ? `Would free ${formatBytes(bytes)} (dry run: nothing deleted).` : `Freed ${formatBytes(freed)}.`);
    io.event({ event: 'pruned', dryRun, entries: chosen.map((e) => e.path), bytes: freed });
    return 0;
  },
};

export const cacheCommands: CliCommand[] = [cacheShowCommand, cachePruneCommand];
