// All CLI commands. Each domain adds one import and one spread here.
import type { CliCommand } from './command';
import { evalCommands } from './evalCommands';
import { dataCommands } from './dataCommands';

export const allCommands: CliCommand[] = [...dataCommands, ...evalCommands];
