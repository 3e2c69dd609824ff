// The steering part of a ModelRef sent by the chat webview (untrusted): absolute direction files, whole layers,
// finite strengths; anything else is refused with the field named. The runtime checks the files themselves.
import { isAbsolute } from 'node:path';
import type { SteeringRef } from '../../protocol/chatMethods';

export function validateSteeringRef(v: unknown, fail: (message: string) => Error): SteeringRef | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw fail('ref.steering must be an object');
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) if (k !== 'steer' && k !== 'ablate') throw fail(`ref.steering.${k} is not a steering setting`);
  const part = (x: unknown, name: 'steer' | 'ablate') => {
    if (typeof x !== 'object' || x === null || Array.isArray(x)) throw fail(`ref.steering.${name} must be an object`);
    const p = x as Record<string, unknown>;
    const allowed = name === 'steer' ? ['file', 'layer', 'alpha'] : ['file', 'layer'];
    for (const k of Object.keys(p)) if (!allowed.includes(k)) throw fail(`ref.steering.${name}.${k} is not a steering setting`);
    if (typeof p.file !== 'string' || !isAbsolute(p.file) || p.file.length > 4096) throw fail(`ref.steering.${name}.file must be an absolute path`);
    if (typeof p.layer !== 'number' || !Number.isInteger(p.layer) || p.layer < 0 || p.layer > 10_000) throw fail(`ref.steering.${name}.layer must be a layer number`);
    if (name === 'steer' && (typeof p.alpha !== 'number' || !Number.isFinite(p.alpha))) throw fail('ref.steering.steer.alpha must be a finite number');
    return name === 'steer' ? { file: p.file, layer: p.layer, alpha: p.alpha as number } : { file: p.file, layer: p.layer };
  };
  const out: SteeringRef = {};
  if (o.steer !== undefined) out.steer = part(o.steer, 'steer') as SteeringRef['steer'];
  if (o.ablate !== undefined) out.ablate = part(o.ablate, 'ablate') as SteeringRef['ablate'];
  return out.steer || out.ablate ? out : undefined;
}
