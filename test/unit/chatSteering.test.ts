// The chat views' steering control, host side and view side, without a browser: what a view may send (untrusted),
// the strength → alpha arithmetic against |d| from direction/info, and that steered answers say so in their label
// and in exports.
import { strict as assert } from 'node:assert';
import type { DirectionInfo } from '../../src/protocol/directionMethods';
import { describeSteering } from '../../src/protocol/directionMethods';
import { provenanceText } from '../../src/views/chat/chatExport';
import { parseGenerate } from '../../src/views/chat/chatViewMessages';
import { parseDirectionInfo, validateSteeringRef } from '../../src/views/chat/steeringParams';
import { pickLayer, steeringRef, steeringSummary } from '../../media/chat/steeringFields';
import { provenanceLine } from '../../media/chat/state';

const info: DirectionInfo = { file: '/ws/d.safetensors', hiddenSize: 64, layers: [{ layer: 0, norm: 2 }, { layer: 1, norm: 3.3333333 }, { layer: 2, norm: 5 }], metadata: { model: 'tiny-llama' } };

describe('chat steering control', () => {
  it('validates ref.steering from a view, naming the field', () => {
    const ok = { steer: { file: '/ws/d.safetensors', layer: 1, alpha: -2.5 }, ablate: { file: '/ws/d.safetensors', layer: 1 } };
    assert.deepEqual(validateSteeringRef(ok), ok);
    assert.equal(validateSteeringRef(undefined), undefined);
    assert.equal(validateSteeringRef({}), undefined);
    for (const [bad, message] of [
      [{ steer: { file: 'd.safetensors', layer: 1, alpha: 1 } }, /ref\.steering\.steer\.file/],
      [{ steer: { file: '/ws/../etc/d.safetensors', layer: 1, alpha: 1 } }, /ref\.steering\.steer\.file/],
      [{ steer: { file: '/ws/d.safetensors', layer: 1.5, alpha: 1 } }, /ref\.steering\.steer\.layer must be a whole number/],
      [{ steer: { file: '/ws/d.safetensors', layer: 1, alpha: Number.NaN } }, /ref\.steering\.steer\.alpha must be a finite number/],
      [{ ablate: { file: '/ws/d.safetensors', layer: -1 } }, /ref\.steering\.ablate\.layer/],
      [{ ablate: { file: '/ws/d.safetensors', layer: 0, alpha: 3 } }, /ref\.steering\.ablate\.alpha is not a steering setting/],
      [{ patch: {} }, /ref\.steering\.patch is not a steering setting/],
      ['steer', /ref\.steering must be an object/],
    ] as const) assert.throws(() => validateSteeringRef(bad), message);
    assert.throws(() => parseDirectionInfo({ file: 'rel.safetensors' }), /file/);
  });

  it('a generation request keeps a valid steering and refuses a bad one; loading never carries it', () => {
    const base = { pane: 'left', streamId: 's1', messages: [{ role: 'user', content: 'hi' }], sampling: {} };
    const steering = { steer: { file: '/ws/d.safetensors', layer: 2, alpha: 10 } };
    assert.deepEqual(parseGenerate({ ...base, ref: { model: 'tiny-llama', steering } }).ref, { model: 'tiny-llama', steering });
    assert.deepEqual(parseGenerate({ ...base, ref: { model: 'tiny-llama' } }).ref, { model: 'tiny-llama' });
    assert.throws(() => parseGenerate({ ...base, ref: { model: 'tiny-llama', steering: { steer: { file: '/ws/d.safetensors', layer: 2 } } } }), /alpha/);
  });

  it('strength is in units of |d| at the chosen layer; 0 without ablation is off', () => {
    assert.equal(steeringRef({ info, layer: 1, strength: 0, ablate: false }), undefined);
    assert.equal(steeringRef({ layer: 1, strength: 2, ablate: false }), undefined, 'no file read yet');
    assert.deepEqual(steeringRef({ info, layer: 2, strength: -1.5, ablate: false }), { steer: { file: '/ws/d.safetensors', layer: 2, alpha: -7.5 } });
    // alpha to 4 significant digits: 2.25 × 3.3333333 = 7.49999993 → 7.5
    assert.deepEqual(steeringRef({ info, layer: 1, strength: 2.25, ablate: true }), { steer: { file: '/ws/d.safetensors', layer: 1, alpha: 7.5 }, ablate: { file: '/ws/d.safetensors', layer: 1 } });
    assert.equal(steeringSummary({ info, layer: 1, strength: 2.25, ablate: true }), '+2.25 × |d|, ablate at layer 1');
    assert.equal(steeringSummary({ info, layer: 1, strength: 0, ablate: false }), 'off');
    assert.equal(steeringSummary(undefined), 'no direction file');
    assert.equal(pickLayer(info), 1, 'the middle layer');
    assert.equal(pickLayer(info, 2), 2, 'the layer kept from before');
    assert.equal(pickLayer(info, 7), 1, 'a layer the new file lacks falls back to its middle');
  });

  it('a steered answer says so under it and in the exported transcript', () => {
    const ref = steeringRef({ info, layer: 2, strength: 2, ablate: true })!;
    const steering = describeSteering(ref);
    assert.equal(steering, 'steer +10 × d.safetensors@L2; ablate d.safetensors@L2');
    const provenance = { label: { modelName: 'tiny-llama', modelDir: '/s/tiny', steering }, sampling: { temperature: 1, topP: 1, topK: 0, maxNewTokens: 20, seed: 3 }, finishReason: 'eos' as const, newTokens: 5, decodeTokensPerSecond: 10, finishedAt: '2026-01-01T00:00:00Z' };
    assert.match(provenanceLine(provenance), /no adapter · steered: steer \+10 × d\.safetensors@L2; ablate d\.safetensors@L2 · T 1/);
    assert.match(provenanceText(provenance), /steered: steer \+10 × d\.safetensors@L2/);
    assert.doesNotMatch(provenanceLine({ ...provenance, label: { modelName: 'tiny-llama', modelDir: '/s/tiny' } }), /steered/);
  });
});
