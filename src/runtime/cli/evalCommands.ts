// Evaluation commands: question sets, generation, judging, metrics, sweeps and the homework submission.
import type { CliCommand } from './command';
import { metricsCommand } from './evalMetricsCommand';

export const evalCommands: CliCommand[] = [metricsCommand];
