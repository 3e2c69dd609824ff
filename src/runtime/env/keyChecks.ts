// .env location and the two keys: present, where from, plausibly formed. Values never appear in the output
// (maskSecret: at most the last 4 characters).
import { onSurface, type CheckContext, type CheckOutcome, type CheckSpec } from './checkTypes';
import { maskSecret, resolveSetting, type ResolvedSetting } from './secrets';

export interface KeyShape {
  name: 'OPENAI_API_KEY' | 'HF_TOKEN';
  label: string;
  /** Typical form: OpenAI keys are `sk-` (incl. `sk-proj-`), HF tokens `hf_` followed by ~34 letters/digits. */
  pattern: RegExp;
  prefix: string;
  setCommand: 'setOpenAiKey' | 'setHfToken';
  /** The VS Code command that stores it. */
  commandTitle: string;
  neededFor: string;
}

export const OPENAI_KEY: KeyShape = {
  name: 'OPENAI_API_KEY',
  label: 'OpenAI API key',
  pattern: /^sk-[A-Za-z0-9_-]{20,}$/,
  prefix: 'sk-',
  setCommand: 'setOpenAiKey',
  commandTitle: 'EM Lab: Set OpenAI API Key',
  neededFor: 'the LLM judge (alignment and coherence scores)',
};

export const HF_TOKEN: KeyShape = {
  name: 'HF_TOKEN',
  label: 'Hugging Face token',
  pattern: /^hf_[A-Za-z0-9]{20,}$/,
  prefix: 'hf_',
  setCommand: 'setHfToken',
  commandTitle: 'EM Lab: Set Hugging Face Token',
  neededFor: 'downloading gated models such as meta-llama/Llama-3.2-1B-Instruct',
};

/** Why a value does not look like the key, or undefined when it does. */
export function keyShapeProblem(shape: KeyShape, value: string): string | undefined {
  if (/\s/.test(value)) return 'it contains whitespace (a line break or space pasted with it?)';
  if (/^["']|["']$/.test(value)) return 'it is wrapped in quotes that are part of the value';
  if (!value.startsWith(shape.prefix)) return `it does not start with "${shape.prefix}"`;
  if (!shape.pattern.test(value)) return `it does not look like a complete ${shape.label} (${value.length} characters)`;
  return undefined;
}

const SOURCE_WORDS = { 'secret-storage': 'VS Code SecretStorage', environment: 'the environment', dotenv: '.env' } as const;

/** "from .env (/w/.env) (…ab12); also set in the environment (ignored)" — value masked, sources named. */
export function describeSource(r: ResolvedSetting): string {
  const where = r.source === 'dotenv' ? `.env (${r.origin})` : r.source ? SOURCE_WORDS[r.source] : 'nowhere';
  const masked = r.value ? ` (${maskSecret(r.value)})` : '';
  const shadowed = r.shadowed.length ? `; also set in ${r.shadowed.map((s) => SOURCE_WORDS[s]).join(' and ')} (ignored)` : '';
  return `from ${where}${masked}${shadowed}`;
}

function keyCheck(shape: KeyShape): CheckSpec {
  return {
    id: shape.name === 'OPENAI_API_KEY' ? 'openai-key' : 'hf-token',
    title: `${shape.label} (${shape.name})`,
    required: false,
    run: async (ctx: CheckContext): Promise<CheckOutcome> => {
      const r = resolveSetting(shape.name, ctx.env, ctx.dotenv);
      const fix = onSurface(ctx, {
        vscode: `Run "${shape.commandTitle}" (stored in SecretStorage), or add ${shape.name}=... to .env or your environment.`,
        cli: `Add ${shape.name}=... to .env in this folder (or export it in your shell); in VS Code, "${shape.commandTitle}" stores it instead.`,
      });
      if (!r.value) {
        return { status: 'warn', detail: `Not set; it is needed for ${shape.neededFor}.`, fix, action: shape.setCommand };
      }
      const problem = keyShapeProblem(shape, r.value);
      const customBase = shape.name === 'OPENAI_API_KEY' && resolveSetting('OPENAI_BASE_URL', ctx.env, ctx.dotenv).value;
      if (problem && !customBase) {
        return { status: 'warn', detail: `Set ${describeSource(r)}, but ${problem}.`, fix: `Check the value; ${fix}`, action: shape.setCommand };
      }
      return { status: 'ok', detail: `Set ${describeSource(r)}${problem ? `; unusual form (${problem}), accepted because OPENAI_BASE_URL is set` : ''}.` };
    },
  };
}

export const dotenvCheck: CheckSpec = {
  id: 'dotenv',
  title: '.env file',
  required: false,
  run: async (ctx) => {
    if (!ctx.dotenv) {
      return {
        status: 'skip',
        detail: `No .env in ${ctx.startDir} or any folder above it (optional: keys can also come from SecretStorage or the environment).`,
        fix: 'Create a .env in your workspace folder with OPENAI_API_KEY=... and HF_TOKEN=... lines; keep it out of git (list .env in .gitignore).',
        action: 'openDotenv',
      };
    }
    const names = Object.keys(ctx.dotenv.values);
    const found = `Found ${ctx.dotenv.path} (${names.length} variable${names.length === 1 ? '' : 's'}${names.length ? `: ${names.join(', ')}` : ''}).`;
    if (ctx.dotenvNotes?.length) return { status: 'warn', detail: `${found} ${ctx.dotenvNotes.join(' ')}`, fix: 'Move the endpoint into your environment or a .env inside the workspace, or delete it from that .env.', action: 'openDotenv' };
    return { status: 'ok', detail: found };
  },
};

export const openAiKeyCheck = keyCheck(OPENAI_KEY);
export const hfTokenCheck = keyCheck(HF_TOKEN);
