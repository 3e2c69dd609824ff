// --steer / --ablate: the residual-stream interventions every local-generation command takes (generate, chat,
// logprobs, generate-eval, sweep). One table, one parser; the engine side is src/runtime/direction/steering.ts.
import { resolve } from 'node:path';
import type { SteeringRef } from '../../protocol/chatMethods';
import { UserError } from '../errors';
import { readDirectionFile, norm } from '../direction/directionFile';
import { str, type CliIO, type OptionSpec, type ParsedArgs } from './command';

export const STEERING_OPTIONS: Record<string, OptionSpec> = {
  steer: { type: 'string', description: 'A direction file (em-lab direction compute): add it to the residual stream after --steer_layer, at every position.', valueName: 'FILE' },
  steer_layer: { type: 'string', description: 'Decoder layer to steer after (default: the file\'s only layer).', valueName: 'L' },
  steer_alpha: { type: 'string', description: 'Length of the added vector, alpha · d/|d| (negative steers away). Default: |d| (the mean difference itself).', valueName: 'A' },
  ablate: { type: 'string', description: 'A direction file: remove the component along d/|d| after the embeddings and after every decoder layer.', valueName: 'FILE' },
  ablate_layer: { type: 'string', description: 'Which layer\'s vector to remove (default: the file\'s only layer).', valueName: 'L' },
};

function layerFrom(args: ParsedArgs, flag: string, file: string, available: number[]): number {
  const given = str(args, flag);
  if (given === undefined) {
    if (available.length === 1) return available[0]!;
    throw new UserError('steer-layer', `--${flag} is needed: ${file} has directions for layers ${available.join(', ')}. Pick one, e.g. --${flag} ${available[Math.floor(available.length / 2)]}.`);
  }
  const n = Number(given);
  if (!Number.isInteger(n) || n < 0) throw new UserError('steer-layer', `--${flag} ${given}: give a decoder layer number (0-based).`);
  return n;
}

/** The flags as a SteeringRef (absolute file paths), or undefined when none is given. */
export function steeringFrom(args: ParsedArgs, io: CliIO): SteeringRef | undefined {
  for (const [flag, needs] of [['steer_layer', 'steer'], ['steer_alpha', 'steer'], ['ablate_layer', 'ablate']] as const) {
    if (str(args, flag) !== undefined && str(args, needs) === undefined) throw new UserError('bad-args', `--${flag} needs --${needs} FILE.`);
  }
  const ref: SteeringRef = {};
  const steer = str(args, 'steer');
  if (steer !== undefined) {
    const file = resolve(io.cwd, steer);
    const d = readDirectionFile(file);
    const layer = layerFrom(args, 'steer_layer', file, [...d.layers.keys()]);
    const alphaText = str(args, 'steer_alpha');
    const alpha = alphaText === undefined ? norm(d.layers.get(layer) ?? []) : Number(alphaText);
    if (!Number.isFinite(alpha)) throw new UserError('steer-alpha', `--steer_alpha ${alphaText}: give a number (the length of the added vector).`);
    ref.steer = { file, layer, alpha };
  }
  const ablate = str(args, 'ablate');
  if (ablate !== undefined) {
    const file = resolve(io.cwd, ablate);
    ref.ablate = { file, layer: layerFrom(args, 'ablate_layer', file, [...readDirectionFile(file).layers.keys()]) };
  }
  return ref.steer || ref.ablate ? ref : undefined;
}
