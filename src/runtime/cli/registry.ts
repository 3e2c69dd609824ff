// All CLI commands. Each domain adds one import and one spread here.
import type { CliCommand } from './command';
import { evalCommands } from './evalCommands';
import { dataCommands } from './dataCommands';
import { cudaCommands } from './cudaCommands';

export const allCommands: CliCommand[] = [...dataCommands, ...evalCommands, ...cudaCommands];
