// Runtime handlers for direction/*: what a direction file holds (the chat sandbox's steering control).
import { isAbsolute } from 'node:path';
import type { RuntimeHandlers } from '../rpc/handlerTypes';
import { UserError } from '../errors';
import { norm } from './directionFile';
import { loadDirection } from './steering';

export const directionHandlers = {
  'direction/info': async (p) => {
    if (typeof p?.file !== 'string' || !isAbsolute(p.file)) throw new UserError('bad-params', 'direction/info: "file" must be an absolute path to a direction file.');
    const d = loadDirection(p.file);
    const layers = [...d.layers.keys()].sort((a, b) => a - b).map((layer) => ({ layer, norm: norm(d.layers.get(layer)!) }));
    const metadata = Object.fromEntries(Object.entries(d.metadata).filter((e): e is [string, string] => typeof e[1] === 'string'));
    return { file: d.path, hiddenSize: d.hiddenSize, layers, metadata };
  },
} satisfies Pick<RuntimeHandlers, 'direction/info'>;
