// Where a setting (OPENAI_API_KEY, HF_TOKEN, OPENAI_BASE_URL, ...) comes from. Precedence, highest first:
//   1. SecretStorage — the extension puts it in the runtime's environment and names it in EM_LAB_SECRETS_FROM_STORAGE;
//   2. the process environment (shell, CI);
//   3. the nearest `.env` (python-dotenv's load_dotenv also never overrides a variable that is already set).
// Values are never logged or printed: maskSecret shows at most the last 4 characters.
import { SECRET_SOURCE_ENV } from '../../protocol/envMethods';
import type { DotenvFile } from './findDotenv';

export type SettingSource = 'secret-storage' | 'environment' | 'dotenv';

export interface ResolvedSetting {
  name: string;
  value?: string;
  source?: SettingSource;
  /** Where the value came from, in words ("VS Code SecretStorage", "environment", "/path/.env"). */
  origin?: string;
  /** Lower-precedence sources that also set it (they are ignored). */
  shadowed: SettingSource[];
}

export function secretsFromStorage(env: NodeJS.ProcessEnv): Set<string> {
  return new Set((env[SECRET_SOURCE_ENV] ?? '').split(',').map((s) => s.trim()).filter(Boolean));
}

export function resolveSetting(name: string, env: NodeJS.ProcessEnv, dotenv: DotenvFile | undefined): ResolvedSetting {
  const candidates: { source: SettingSource; value: string | undefined; origin: string }[] = [];
  const fromEnv = env[name]?.trim() || undefined;
  if (secretsFromStorage(env).has(name)) candidates.push({ source: 'secret-storage', value: fromEnv, origin: 'VS Code SecretStorage' });
  else candidates.push({ source: 'environment', value: fromEnv, origin: 'environment' });
  candidates.push({ source: 'dotenv', value: dotenv?.values[name]?.trim() || undefined, origin: dotenv?.path ?? '.env' });
  const present = candidates.filter((c) => c.value);
  const winner = present[0];
  return {
    name,
    ...(winner ? { value: winner.value, source: winner.source, origin: winner.origin } : {}),
    shadowed: present.slice(1).map((c) => c.source),
  };
}

/** The environment runtime services should read: .env fills what the process environment lacks. */
export function effectiveEnv(env: NodeJS.ProcessEnv, dotenv: DotenvFile | undefined): NodeJS.ProcessEnv {
  const merged: NodeJS.ProcessEnv = { ...(dotenv?.values ?? {}) };
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v !== '') merged[k] = v;
  return merged;
}

/** "…ab12" (last 4 characters) for keys long enough that this reveals nothing useful; "(set)" otherwise. */
export function maskSecret(value: string): string {
  return value.length >= 16 ? `…${value.slice(-4)}` : '(set)';
}
