// The steering part of what a chat view sends (untrusted): absolute direction files, whole layers, finite
// strengths; anything else is refused naming the field. The runtime checks the files themselves (direction/info,
// resolveSteering). No vscode: tested in plain Node (test/unit/chatSteering.test.ts).
import type { ChatViewMethods, SteeringRef } from '../../protocol/chatMethods';
import { ViewRequestError } from '../../host/viewChannel';
import { absPath, int, num, obj } from '../../host/viewParams';

const MAX_LAYER = 10_000;

function only(o: Record<string, unknown>, what: string, keys: readonly string[]): void {
  for (const k of Object.keys(o)) if (!keys.includes(k)) throw new ViewRequestError(`${what}.${k} is not a steering setting`);
}

/** ref.steering: undefined (the model as it is), or {steer?: {file, layer, alpha}, ablate?: {file, layer}}. */
export function validateSteeringRef(v: unknown): SteeringRef | undefined {
  if (v === undefined || v === null) return undefined;
  const o = obj(v, 'ref.steering');
  only(o, 'ref.steering', ['steer', 'ablate']);
  const out: SteeringRef = {};
  if (o.steer !== undefined) {
    const s = obj(o.steer, 'ref.steering.steer');
    only(s, 'ref.steering.steer', ['file', 'layer', 'alpha']);
    out.steer = { file: absPath(s.file, 'ref.steering.steer.file'), layer: int(s.layer, 'ref.steering.steer.layer', 0, MAX_LAYER), alpha: num(s.alpha, 'ref.steering.steer.alpha') };
  }
  if (o.ablate !== undefined) {
    const a = obj(o.ablate, 'ref.steering.ablate');
    only(a, 'ref.steering.ablate', ['file', 'layer']);
    out.ablate = { file: absPath(a.file, 'ref.steering.ablate.file'), layer: int(a.layer, 'ref.steering.ablate.layer', 0, MAX_LAYER) };
  }
  return out.steer || out.ablate ? out : undefined;
}

export function parseDirectionInfo(raw: unknown): ChatViewMethods['sandbox/directionInfo'][0] {
  return { file: absPath(obj(raw).file, 'file') };
}
