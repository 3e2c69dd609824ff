// The data domain's runtime methods (src/protocol/dataMethods.ts), over the same services as `em-lab data`.
import { resolve } from 'node:path';
import type { RuntimeHandlers } from '../rpc/handlerTypes';
import { UserError } from '../errors';
import { datasetStats, getConversation, pageDataset } from './browse';
import { downloadFile } from './download';
import { unprotectArchive } from './easyDatasetShare';
import { formatIssue } from './jsonl';
import { countRows, dataDir, findDatasets, trainingDataStatus } from './registry';

const MAX_ISSUES_RETURNED = 50;

export const dataHandlers = {
  'data/list': async (params) => {
    const workspaceDir = resolve(params.workspaceDir ?? process.cwd());
    const dir = dataDir({ dir: params.dir, workspaceDir });
    const training = trainingDataStatus(workspaceDir);
    const datasets = await Promise.all(findDatasets(dir).map(async (d) => ({ ...d, rows: await countRows(d.file) })));
    return {
      dir,
      datasets,
      training: { archivePath: training.archivePath, archivePresent: training.archivePresent, extractedDir: training.extractedDir, decrypted: training.decrypted, missing: training.missing },
    };
  },
  'data/page': async (params, ctx) => pageDataset(params.file, params, ctx.signal),
  'data/row': async (params, ctx) => {
    const row = await getConversation(params.file, params.index, ctx.signal);
    if (!row) throw new UserError('row-not-found', `${params.file} has no row ${params.index + 1}.`);
    return row;
  },
  'data/stats': async (params, ctx) => {
    const { stats, issues } = await datasetStats(params.file, undefined, ctx.signal);
    return { file: params.file, ...stats, issues: issues.slice(0, MAX_ISSUES_RETURNED).map(formatIssue), invalidLines: issues.length };
  },
  'data/unprotect': async (params, ctx) => {
    const r = await unprotectArchive({ ...params, onProgress: (m, f) => ctx.progress(m, f), signal: ctx.signal });
    return { outputDir: r.outputDir, files: r.files, removedCanaryFiles: r.removedCanaryFiles, gitignoreUpdated: r.gitignoreUpdated };
  },
  'data/download': async (params, ctx) => downloadFile({ ...params, signal: ctx.signal, onProgress: (m, f) => ctx.progress(m, f) }),
} satisfies Pick<RuntimeHandlers, 'data/list' | 'data/page' | 'data/row' | 'data/stats' | 'data/unprotect' | 'data/download'>;
