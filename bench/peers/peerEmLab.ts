// EM Lab's side of the peer bench, measured the way a chat user meets it: the app's step model
// (decoderStepModel over the base model: on a q4 export the plain graph, see decoder.ts) driven by the app's generation loop
// (generateTokens, greedy), with the same definitions as llamaCpp.ts's measureLlamaCpp.
import { Decoder, type DecoderOpenOptions } from '../../src/runtime/model/decoder';
import type { ExportDType } from '../../src/runtime/model/decoderExport';
import { generateTokens } from '../../src/runtime/model/generate';
import { decoderStepModel } from '../../src/runtime/model/generateModel';
import { windowRate, type PeerSpeeds } from './llamaCpp';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const now = () => performance.now() / 1000;

export async function measureEmLab(dir: string, dtype: ExportDType, tok: (i: number) => number, decodeSteps: number, open: Pick<DecoderOpenOptions, 'threads' | 'plainBase'> = {}): Promise<PeerSpeeds> {
  let t = now();
  const dec = await Decoder.open(dir, { dtype, ...open });
  const loadS = now() - t;
  const model = decoderStepModel(dec);
  // no stop ids: random weights may pick an eos id, and every row must run the same number of steps
  const run = (prompts: number[][], maxNewTokens: number, onToken?: (row: number) => void) =>
    generateTokens(model, prompts, { sampling: { temperature: 0, maxNewTokens }, eosTokenIds: [], padTokenId: 0, decode: () => '', ...(onToken ? { onToken: (e) => onToken(e.sequence) } : {}) });
  const P = 128;
  const prompt = Array.from({ length: P }, (_, i) => tok(i));
  const prefills: number[] = [];
  for (let k = 0; k < 4; k++) {
    const r = await run([prompt], 1);
    if (k > 0) prefills.push(r.stats.prefillMs / 1000);
  }
  const decode = async (batch: number) => {
    const times: number[][] = Array.from({ length: batch }, () => []);
    await run(Array.from({ length: batch }, (_, b) => Array.from({ length: 16 }, (_, i) => tok(i + b))), 2 + decodeSteps, (row) => times[row]!.push(now()));
    return windowRate(times);
  };
  const decodeB1 = await decode(1);
  const decodeB8 = await decode(8);
  await dec.dispose();
  return { loadS, prefillTps: P / median(prefills), decodeB1, decodeB8 };
}
