// Who answers an experiment's evaluation questions: EM Lab's own engine (the default), or the OpenAI-compatible
// server named in evaluation.server (vLLM, em-lab serve). On a server the base stage asks the base model by name and
// the sweep registers each checkpoint at run time (/v1/load_lora_adapter) for exactly its own answers, as
// `em-lab sweep --base-url` does (docs/scale-out.md). Training always runs here.
import type { BatchGenerator } from '../eval/generators/generator';
import { localGenerator } from '../eval/generators/localGenerator';
import { openAIGenerator } from '../eval/generators/openaiGenerator';
import { adapterServerName, loraPathOnServer, parseLoraPathMaps } from '../eval/generators/loraAdmin';
import { sessionsFor } from '../model/generateSession';
import { modelOf, type LoadedExperiment } from './experimentFile';

/** Sequences a local generator decodes at once in a stage. */
const LOCAL_BATCH = 8;
/** Requests in flight at once to a generation server (as generate-eval's --concurrency default). */
const SERVER_CONCURRENCY = 8;

export interface StageCheckpoint {
  label: string;
  step: number;
  /** The adapter folder; absent for the base model. */
  path?: string;
}

/** Whether the experiment generates on a server (no local model needed for its evaluation). */
export const generatesOnServer = (e: LoadedExperiment): boolean => e.experiment.evaluation.server !== undefined;

/** One stage's generator factory: `of()` the base model, `of(checkpoint)` a checkpoint (the base when it has no path). */
export function stageGenerators(e: LoadedExperiment, storageDir: string, env: NodeJS.ProcessEnv, log: (line: string) => void): (cp?: StageCheckpoint) => BatchGenerator {
  const server = e.experiment.evaluation.server;
  if (!server) {
    const sessions = sessionsFor(storageDir, env);
    const model = modelOf(e);
    return (cp) => localGenerator({ sessions, model, ...(cp?.path ? { adapter: cp.path } : {}), ...(cp ? { checkpoint: cp.label, step: cp.step } : {}), batchSize: LOCAL_BATCH });
  }
  const maps = parseLoraPathMaps(server.loraPathMap ?? []);
  const ev = e.experiment.evaluation;
  if (ev.topK || ev.promptBos === 'double') log(`note: an OpenAI-compatible server takes neither top_k nor the grader's double BOS (evaluation.topK ${ev.topK ?? 0}, promptBos ${ev.promptBos ?? 'single'}); these answers differ from the grader's generation in those (docs/homework.md).`);
  return (cp) =>
    openAIGenerator({
      model: server.model ?? e.experiment.model,
      endpoint: { baseURL: server.baseURL, timeoutMs: 300_000 },
      env,
      concurrency: SERVER_CONCURRENCY,
      n: server.n ?? 8,
      ...(cp?.path ? { lora: { name: adapterServerName(cp.path), serverPath: loraPathOnServer(cp.path, maps), localPath: cp.path } } : {}),
      ...(cp ? { checkpoint: cp.label, step: cp.step } : {}),
      onLora: (ev, a) => log(`${a.name}: ${ev === 'was-loaded' ? 'already registered at the server (reused)' : ev === 'was-not-loaded' ? 'already gone from the server' : ev} (${a.serverPath})`),
    });
}
