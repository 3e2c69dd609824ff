// API keys in VS Code's SecretStorage (the OS keychain). They reach the runtime only through its environment.
import * as vscode from 'vscode';
import type { SecretName } from './deps';

export const SECRET_NAMES: readonly SecretName[] = ['OPENAI_API_KEY', 'HF_TOKEN'];

const STORAGE_KEY: Record<SecretName, string> = { OPENAI_API_KEY: 'emLab.openaiApiKey', HF_TOKEN: 'emLab.hfToken' };

export class SecretStore implements vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<SecretName>();
  readonly onDidChange = this.changed.event;
  private readonly subscription: vscode.Disposable;

  constructor(private readonly storage: vscode.SecretStorage) {
    this.subscription = storage.onDidChange((e) => {
      const name = SECRET_NAMES.find((n) => STORAGE_KEY[n] === e.key);
      if (name) this.changed.fire(name);
    });
  }

  async get(name: SecretName): Promise<string | undefined> {
    return (await this.storage.get(STORAGE_KEY[name])) || undefined;
  }

  async all(): Promise<Partial<Record<SecretName, string>>> {
    const out: Partial<Record<SecretName, string>> = {};
    for (const name of SECRET_NAMES) {
      const value = await this.get(name);
      if (value) out[name] = value;
    }
    return out;
  }

  // Fire our own change event once the store completes, so the runtime restarts with the new environment before
  // the caller's next request (SecretStorage's event may arrive later; a second event is harmless).
  async set(name: SecretName, value: string): Promise<void> {
    await this.storage.store(STORAGE_KEY[name], value);
    this.changed.fire(name);
  }

  async clear(name: SecretName): Promise<void> {
    await this.storage.delete(STORAGE_KEY[name]);
    this.changed.fire(name);
  }

  dispose(): void {
    this.subscription.dispose();
    this.changed.dispose();
  }
}
