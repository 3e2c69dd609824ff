// Cluster methods of the runtime (docs/scale-out.md). Types only. Submitting stays a CLI step (`em-lab experiment
// submit --slurm`, on a login node); the extension shows what was submitted.
import type { GridStatusView } from './clusterTypes';

export interface ClusterMethods {
  /**
   * Submitted grids directly under a folder (each <dir>/<name>/experiment.json with a "grid" and slurm/jobs.json),
   * with their cells' states from the folders and SLURM (asked at most once per 30 s per grid, however often this
   * is called). A grid that cannot be read is listed in `errors`, the others still come back.
   */
  'cluster/grids': [{ experimentsDir: string }, { grids: GridStatusView[]; errors: { dir: string; message: string }[] }];
}
