// Is the key accepted? One cheap authenticated GET each, short timeout (default 5 s), run concurrently by doctor.ts:
//   OpenAI: GET {OPENAI_BASE_URL or https://api.openai.com/v1}/models
//   Hugging Face: GET {HF_ENDPOINT or https://huggingface.co}/api/whoami-v2
import type { CheckContext, CheckOutcome, CheckSpec } from './checkTypes';
import { apiErrorCode, probe, type ProbeResult } from './httpProbe';
import { resolveSetting } from './secrets';
import { keyedUrlProblem } from './endpoints';

export const DEFAULT_OPENAI_BASE_URL = 'https://api.openai.com/v1';
export const DEFAULT_HF_ENDPOINT = 'https://huggingface.co';

function unreachable(r: Exclude<ProbeResult, { kind: 'response' }>, url: string, timeoutMs: number, proxyHint: string, noKeyEither: boolean): CheckOutcome {
  const why = r.kind === 'timeout' ? `no answer within ${timeoutMs / 1000} s` : r.reason;
  return {
    status: 'warn',
    detail: `Unreachable: ${url} (${why}). Offline, or a firewall/proxy blocks it.${noKeyEither ? ' (No key is set either.)' : ''}`,
    fix: `Check your internet connection${proxyHint}. Everything except this service works offline.`,
  };
}

/** Without a key we still learn whether the service is reachable: it answers an unauthenticated GET with 401. */
function noKey(base: string, r: Extract<ProbeResult, { kind: 'response' }>, label: string, action: 'setOpenAiKey' | 'setHfToken'): CheckOutcome {
  return { status: 'skip', detail: `${base} is reachable (HTTP ${r.status} to a request without a key, ${r.ms} ms); no ${label} set, so none was tested.`, fix: `Set the ${label} to test it.`, action };
}

export const openAiApiCheck: CheckSpec = {
  id: 'openai-api',
  title: 'OpenAI API reachable and key accepted',
  required: false,
  run: async (ctx: CheckContext): Promise<CheckOutcome> => {
    const key = resolveSetting('OPENAI_API_KEY', ctx.env, ctx.dotenv).value;
    const base = (resolveSetting('OPENAI_BASE_URL', ctx.env, ctx.dotenv).value ?? DEFAULT_OPENAI_BASE_URL).replace(/\/+$/, '');
    const url = `${base}/models`;
    const insecure = key ? keyedUrlProblem(url, 'OPENAI_BASE_URL') : undefined;
    if (insecure) return { status: 'fail', detail: `${insecure}. The key was not sent.`, fix: 'Point OPENAI_BASE_URL at an https:// endpoint (or a server on this machine).' };
    const r = await probe(url, key ? { Authorization: `Bearer ${key}` } : {}, ctx.networkTimeoutMs, ctx.signal);
    if (r.kind !== 'response') return unreachable(r, url, ctx.networkTimeoutMs, base === DEFAULT_OPENAI_BASE_URL ? '' : ' and OPENAI_BASE_URL', !key);
    if (!key) return noKey(base, r, 'OpenAI API key', 'setOpenAiKey');
    const code = apiErrorCode(r.body);
    if (r.status === 200) {
      const models = (r.body as { data?: unknown[] } | undefined)?.data;
      return { status: 'ok', detail: `${base} answered in ${r.ms} ms; key accepted${Array.isArray(models) ? ` (${models.length} models visible)` : ''}.` };
    }
    if (r.status === 401) {
      return { status: 'fail', detail: `${base} rejected the key (HTTP 401${code ? `, ${code}` : ''}).`, fix: 'The key is wrong, revoked or for another organisation: create a new one at https://platform.openai.com/api-keys and set it again.', action: 'setOpenAiKey' };
    }
    if (r.status === 403) {
      return { status: 'fail', detail: `${base} refused access (HTTP 403${code ? `, ${code}` : ''}).`, fix: 'The key lacks permission for the models endpoint, or the region is unsupported: check the key\'s project permissions.', action: 'setOpenAiKey' };
    }
    if (r.status === 429) {
      return { status: 'warn', detail: `Key accepted, but ${base} answered HTTP 429${code ? ` (${code})` : ''}: rate-limited or out of quota.`, fix: 'Check billing and usage limits at https://platform.openai.com/usage before judging.' };
    }
    return { status: 'warn', detail: `${base} answered HTTP ${r.status}${code ? ` (${code})` : ''}; the key could not be confirmed.`, fix: 'Try again later; if OPENAI_BASE_URL points to a proxy, check that it serves /models.' };
  },
};

export const hfApiCheck: CheckSpec = {
  id: 'hf-api',
  title: 'Hugging Face token accepted',
  required: false,
  run: async (ctx: CheckContext): Promise<CheckOutcome> => {
    const token = resolveSetting('HF_TOKEN', ctx.env, ctx.dotenv).value;
    const base = (resolveSetting('HF_ENDPOINT', ctx.env, ctx.dotenv).value ?? DEFAULT_HF_ENDPOINT).replace(/\/+$/, '');
    const url = `${base}/api/whoami-v2`;
    const insecure = token ? keyedUrlProblem(url, 'HF_ENDPOINT') : undefined;
    if (insecure) return { status: 'fail', detail: `${insecure}. The token was not sent.`, fix: 'Point HF_ENDPOINT at an https:// endpoint (or a server on this machine).' };
    const r = await probe(url, token ? { Authorization: `Bearer ${token}` } : {}, ctx.networkTimeoutMs, ctx.signal);
    if (r.kind !== 'response') return unreachable(r, url, ctx.networkTimeoutMs, base === DEFAULT_HF_ENDPOINT ? '' : ' and HF_ENDPOINT', !token);
    if (!token) return noKey(base, r, 'Hugging Face token', 'setHfToken');
    if (r.status === 200) {
      const name = (r.body as { name?: unknown } | undefined)?.name;
      return { status: 'ok', detail: `Token accepted${typeof name === 'string' ? ` (user ${name})` : ''}; ${base} answered in ${r.ms} ms.` };
    }
    if (r.status === 401) {
      return { status: 'fail', detail: `${base} rejected the token (HTTP 401).`, fix: 'Create a read token at https://huggingface.co/settings/tokens and set it again.', action: 'setHfToken' };
    }
    return { status: 'warn', detail: `${base} answered HTTP ${r.status}; the token could not be confirmed.`, fix: 'Try again later.' };
  },
};
