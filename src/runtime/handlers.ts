// The runtime's one handler table: every method in RuntimeMethods must have a handler here (compile-checked).
// Each domain adds one import and one spread.
import type { RuntimeHandlers } from './rpc/handlerTypes';
import { coreHandlers } from './rpc/coreHandlers';
import { dataHandlers } from './data/handlers';
import { cudaHandlers } from './cuda/handlers';
import { envHandlers } from './env/handlers';
import { chatHandlers } from './model/chatHandlers';
import { evalHandlers } from './eval/handlers';
import { trainHandlers } from './train/handlers';
import { experimentHandlers } from './experiment/handlers';
import { clusterHandlers } from './cluster/handlers';

export const runtimeHandlers = {
  ...coreHandlers,
  ...dataHandlers,
  ...cudaHandlers,
  ...envHandlers,
  ...chatHandlers,
  ...evalHandlers,
  ...trainHandlers,
  ...experimentHandlers,
  ...clusterHandlers,
} satisfies RuntimeHandlers;
