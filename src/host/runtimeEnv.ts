// The runtime child's environment (vscode-free, so tests check it). Secrets travel here, never in argv.
import type { SecretName } from './deps';

/** glibc malloc: keep big ONNX output buffers on the heap instead of a fresh page-faulting mmap per run
 *  (1.5-3x faster, less noisy; see docs/facts-onnxruntime-node.md). 1 GiB / 4 GiB, in bytes. */
export const MALLOC_ENV = {
  MALLOC_MMAP_THRESHOLD_: '1073741824',
  MALLOC_TRIM_THRESHOLD_: '4294967296',
} as const;

/** Names (never values) of the secrets that came from SecretStorage, so the doctor can say which source won. */
export const SECRET_SOURCE_ENV = 'EM_LAB_SECRETS_FROM_STORAGE';

export function buildRuntimeEnv(base: NodeJS.ProcessEnv, secrets: Partial<Record<SecretName, string>>): NodeJS.ProcessEnv {
  // fork() starts process.execPath, which in desktop VS Code is the Electron binary: ELECTRON_RUN_AS_NODE makes it
  // plain Node (as vscode-languageclient does for its forked servers). Plain Node ignores it.
  const env: NodeJS.ProcessEnv = { ...base, ...MALLOC_ENV, ELECTRON_RUN_AS_NODE: '1' };
  const fromStorage: string[] = [];
  for (const [name, value] of Object.entries(secrets)) {
    if (value) {
      env[name] = value; // SecretStorage wins over the inherited environment and .env
      fromStorage.push(name);
    }
  }
  if (fromStorage.length) env[SECRET_SOURCE_ENV] = fromStorage.join(',');
  else delete env[SECRET_SOURCE_ENV];
  return env;
}
