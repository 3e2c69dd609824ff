// The base model of a training run: tiny-llama (built in), a local Hugging Face folder, or a downloaded Hub id,
// opened as config + lazily read frozen weights + tokenizer.
import { existsSync, readdirSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { UserError } from '../errors';
import { openModelFolder } from '../model/modelFolder';
import { loadTokenizer } from '../model/tokenizer';
import { ensureTinyLlama, TINY_LLAMA_ID } from '../model/tinyLlama';
import { resolveHubModel } from '../model/generateSources';
import { folderWeightsId } from './artifacts';
import type { LoadedModel } from './runTrainer';

export async function loadModelForTraining(model: string, storageDir: string, cwd: string, withTokenizer = true): Promise<LoadedModel & { dir: string }> {
  let dir: string;
  let name = model;
  if (model === TINY_LLAMA_ID) dir = ensureTinyLlama(storageDir);
  else if (isAbsolute(model) || existsSync(resolve(cwd, model, 'config.json'))) {
    dir = resolve(cwd, model);
    name = dir;
    if (!existsSync(join(dir, 'config.json'))) throw new UserError('model-not-found', `--model_name ${dir} is not a model folder (no config.json). Use tiny-llama, a Hugging Face model folder, or a downloaded Hub id.`);
  } else dir = await resolveHubModel(model, { storageDir, env: process.env, progress: () => undefined });
  const folder = openModelFolder(dir);
  const files = readdirSync(dir).filter((f) => f.endsWith('.safetensors')).sort();
  return {
    dir,
    name,
    cfg: folder.config,
    weights: { read: (n) => folder.checkpoint.read(n) },
    weightsId: folderWeightsId(dir, ['config.json', ...files]),
    ...(withTokenizer ? { tokenizer: await loadTokenizer(dir, storageDir) } : {}),
  };
}
