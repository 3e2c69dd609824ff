// One place that builds `openai` clients for EM Lab: the judge and the OpenAI-compatible generator. Works with
// OpenAI, Azure OpenAI (set apiVersion) and any OpenAI-compatible server (vLLM, Ollama, LM Studio: set baseURL).
// The key comes from the environment (the extension passes SecretStorage keys by env; the CLI also reads .env).
import OpenAI, { AzureOpenAI } from 'openai';
import { UserError } from '../../errors';
import { isLoopbackHost, keyedUrlProblem } from '../../env/endpoints';

export interface EndpointConfig {
  /** e.g. https://api.openai.com/v1, http://localhost:11434/v1, or an Azure resource URL. Default: OpenAI. */
  baseURL?: string;
  /** Azure OpenAI API version (e.g. 2024-10-21); set it to talk to Azure. */
  azureApiVersion?: string;
  /** Per-request timeout (ms). */
  timeoutMs: number;
}

export interface EndpointEnv {
  OPENAI_API_KEY?: string;
  AZURE_OPENAI_API_KEY?: string;
  OPENAI_BASE_URL?: string;
}

export const DEFAULT_OPENAI_URL = 'https://api.openai.com/v1';

/** True when the base URL points at this machine (local servers usually need no key). */
function isLocal(url: string | undefined): boolean {
  if (!url) return false;
  try {
    return isLoopbackHost(new URL(url).hostname);
  } catch {
    return false;
  }
}

/** Where requests really go, and which setting said so: what every message names. */
export function resolveEndpoint(config: Pick<EndpointConfig, 'baseURL'>, env: EndpointEnv): { url: string; from: string } {
  if (config.baseURL) return { url: config.baseURL, from: 'the --base-url option / the emLab.judge.baseUrl setting' };
  if (env.OPENAI_BASE_URL) return { url: env.OPENAI_BASE_URL, from: 'OPENAI_BASE_URL' };
  return { url: DEFAULT_OPENAI_URL, from: 'the default' };
}

export function createOpenAIClient(config: EndpointConfig, env: EndpointEnv): OpenAI {
  const baseURL = config.baseURL ?? env.OPENAI_BASE_URL;
  const where = resolveEndpoint(config, env);
  const problem = keyedUrlProblem(where.url, `from ${where.from}`);
  if (problem && (env.OPENAI_API_KEY || env.AZURE_OPENAI_API_KEY || !isLocal(baseURL))) throw new UserError('insecure-endpoint', `${problem}.`);
  if (config.azureApiVersion) {
    const apiKey = env.AZURE_OPENAI_API_KEY ?? env.OPENAI_API_KEY;
    if (!apiKey) throw new UserError('missing-api-key', 'No Azure OpenAI key: set AZURE_OPENAI_API_KEY (or OPENAI_API_KEY) in the environment or .env, or store it with the "EM Lab: Set OpenAI API Key" command.');
    if (!baseURL) throw new UserError('missing-base-url', 'Azure OpenAI needs the resource URL: pass --base-url https://<resource>.openai.azure.com.');
    return new AzureOpenAI({ apiKey, endpoint: baseURL, apiVersion: config.azureApiVersion, maxRetries: 0, timeout: config.timeoutMs });
  }
  const apiKey = env.OPENAI_API_KEY ?? (isLocal(baseURL) ? 'not-needed-for-local-servers' : undefined);
  if (!apiKey) {
    throw new UserError(
      'missing-api-key',
      `No OpenAI API key for ${where.url}: set OPENAI_API_KEY in the environment or in .env, or store it with the "EM Lab: Set OpenAI API Key" command. For a local OpenAI-compatible server pass --base-url http://127.0.0.1:PORT/v1.`,
    );
  }
  return new OpenAI({ apiKey, ...(baseURL ? { baseURL } : {}), maxRetries: 0, timeout: config.timeoutMs });
}
