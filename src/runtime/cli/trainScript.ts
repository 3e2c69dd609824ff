// train.sh: the homework's train.py, replaced by the exact `em-lab train` command of a run (every option, defaults
// included), the EM Lab version that ran it, and a byte-for-byte check of the training data (sha256 from
// data_manifest.json), so a grader or a classmate retrains the same adapter on the same data.
import { dirname } from 'node:path';
import { TRAIN_DEFAULTS, type TrainConfig } from '../train/trainConfig';
import type { DataSource } from '../train/trainData';
import { RUNTIME_VERSION } from '../version';
import { trainArgsFromConfig } from './trainCommands';

/** Single-quoted for bash: the only character to escape is the quote itself. */
export function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export interface TrainScriptInput {
  config: TrainConfig;
  /** data_manifest.json's sources: the files the run read and their sha256. */
  sources: readonly DataSource[];
  runDir: string;
  runId: string;
}

export function trainScript(o: TrainScriptInput): string {
  const config = { ...TRAIN_DEFAULTS, ...o.config };
  // The domains' folder as it was (all domain files sit in one data folder).
  const domainFile = o.sources.find((s) => config.domains.includes(s.id))?.file;
  const args = trainArgsFromConfig(config, domainFile ? { dataDir: dirname(domainFile) } : {});
  const lines: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const flag = args[i]!;
    const value = args[i + 1] !== undefined && !args[i + 1]!.startsWith('--') ? args[++i]! : undefined;
    lines.push(`  ${flag}${value !== undefined ? ` ${shellQuote(value)}` : ''} \\`);
  }
  return [
    '#!/usr/bin/env bash',
    `# Retrains the adapter of the EM Lab run ${o.runId} (${o.runDir}): the exact \`em-lab train\` command it ran,`,
    `# with every option, written by EM Lab ${RUNTIME_VERSION} (em-lab submission). The same EM Lab version on the same`,
    '# data and the same kind of machine gives the same adapter (training is seeded; CPU and CUDA differ in the last bits).',
    '#   bash train.sh [OUTPUT_DIR]          default OUTPUT_DIR: em-lab-runs/retrain-<run>',
    '#   EM_LAB="node /path/to/em-lab/dist/cli.js" bash train.sh    to choose the em-lab command',
    'set -euo pipefail',
    `EM_LAB_VERSION=${shellQuote(RUNTIME_VERSION)}`,
    `OUT="\${1:-em-lab-runs/retrain-${o.runId.replace(/[^\w.-]/g, '_')}}"`,
    'if [ -z "${EM_LAB:-}" ]; then',
    '  if command -v em-lab >/dev/null 2>&1; then EM_LAB=em-lab; else EM_LAB="npx em-lab"; fi',
    'fi',
    '',
    '# The training data must be byte-for-byte what the run read (sha256 from its data_manifest.json).',
    'sha256() { if command -v sha256sum >/dev/null 2>&1; then sha256sum "$1" | cut -d" " -f1; else shasum -a 256 "$1" | cut -d" " -f1; fi; }',
    'check_data() {',
    '  [ -f "$1" ] || { echo "train.sh: $1 is missing: put the same training data there (em-lab data unprotect)." >&2; exit 1; }',
    '  [ "$(sha256 "$1")" = "$2" ] || { echo "train.sh: $1 differs from the data the run used (sha256 $2); the adapter would differ." >&2; exit 1; }',
    '}',
    ...o.sources.map((s) => `check_data ${shellQuote(s.file)} ${s.sha256}`),
    '',
    `echo "Retraining with EM Lab $EM_LAB_VERSION's options into $OUT" >&2`,
    '$EM_LAB train \\',
    ...lines,
    '  --output_dir "$OUT" --no_resume',
    '',
  ].join('\n');
}
