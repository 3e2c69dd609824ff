// All CLI commands. Each domain adds one import and one spread here.
import type { CliCommand } from './command';
import { evalCommands } from './evalCommands';
import { dataCommands } from './dataCommands';
import { cudaCommands } from './cudaCommands';
import { doctorCommands } from './doctorCommands';
import { modelCommands } from './modelCommands';
import { generateCommands } from './generateCommands';
import { trainCommands } from './trainCommands';
import { serveCommands } from './serveCommands';
import { experimentCommands } from './experimentCommands';
import { experimentGridCommands } from './experimentGridCommands';
import { cacheCommands } from './cacheCommands';
import { homeworkCommands } from './homeworkCommands';

export const allCommands: CliCommand[] = [...dataCommands, ...evalCommands, ...cudaCommands, ...doctorCommands, ...modelCommands, ...generateCommands, ...trainCommands, ...serveCommands, ...experimentCommands, ...experimentGridCommands, ...cacheCommands, ...homeworkCommands];
