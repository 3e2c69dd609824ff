// All CLI commands. Each domain adds one import and one spread here.
import type { CliCommand } from './command';

export const allCommands: CliCommand[] = [];
