// cluster/* runtime methods: what the VS Code sidebar shows of submitted grids. Reading only; gridStatus keeps
// SLURM's answers for 30 s (slurm/queue.json), so the views can refresh as often as they like.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { RuntimeHandlers } from '../rpc/handlerTypes';
import type { GridStatusView } from '../../protocol/clusterTypes';
import { errorMessage } from '../errors';
import { EXPERIMENT_FILE } from '../experiment/experimentFile';
import { isGridFile, SLURM_DIR } from './gridFolder';
import { JOBS_FILE } from './gridSubmit';
import { gridStatus } from './gridStatus';

export const clusterHandlers = {
  'cluster/grids': async (p, ctx) => {
    const grids: GridStatusView[] = [];
    const errors: { dir: string; message: string }[] = [];
    if (!existsSync(p.experimentsDir)) return { grids, errors };
    for (const name of readdirSync(p.experimentsDir).sort()) {
      const dir = join(p.experimentsDir, name);
      if (!existsSync(join(dir, SLURM_DIR, JOBS_FILE)) || !isGridFile(join(dir, EXPERIMENT_FILE))) continue;
      try {
        grids.push(await gridStatus(dir, p.experimentsDir, { env: ctx.env }));
      } catch (err) {
        errors.push({ dir, message: errorMessage(err) });
      }
    }
    return { grids, errors };
  },
} satisfies Pick<RuntimeHandlers, 'cluster/grids'>;
