// "EM Lab: Set OpenAI API Key" / "Set Hugging Face Token" and their Clear commands. Values go to SecretStorage
// only; they are never logged, and the runtime gets them through its environment at the next start.
import * as vscode from 'vscode';
import type { HostDeps, SecretName } from './deps';
import type { SecretStore } from './secrets';

interface SecretSpec {
  name: SecretName;
  label: string;
  prefix: string;
  where: string;
}

const SPECS: SecretSpec[] = [
  { name: 'OPENAI_API_KEY', label: 'OpenAI API key', prefix: 'sk-', where: 'https://platform.openai.com/api-keys' },
  { name: 'HF_TOKEN', label: 'Hugging Face token', prefix: 'hf_', where: 'https://huggingface.co/settings/tokens' },
];

/** A warning for a value that does not look like the key (still storable: proxies use other formats). */
export function secretShapeWarning(spec: { label: string; prefix: string }, value: string): string | undefined {
  if (/\s/.test(value)) return `The ${spec.label} contains whitespace; paste only the key.`;
  if (!value.startsWith(spec.prefix)) return `${spec.label}s usually start with "${spec.prefix}". Press Enter to store it anyway.`;
  return undefined;
}

export function activateSecretCommands(deps: HostDeps, secrets: SecretStore): vscode.Disposable {
  const setCommand = (spec: SecretSpec) => async () => {
    const value = await vscode.window.showInputBox({
      title: `EM Lab: Set ${spec.label}`,
      prompt: `Stored in VS Code's SecretStorage (your OS keychain); it overrides ${spec.name} from the environment and .env. Get one at ${spec.where}`,
      password: true,
      ignoreFocusOut: true,
      placeHolder: `${spec.prefix}...`,
      validateInput: (v) => {
        const warning = v.trim() ? secretShapeWarning(spec, v.trim()) : undefined;
        return warning ? { message: warning, severity: vscode.InputBoxValidationSeverity.Warning } : null;
      },
    });
    if (!value?.trim()) return;
    await secrets.set(spec.name, value.trim());
    deps.log.info(`${spec.label} stored in SecretStorage (ends in ...${value.trim().slice(-4)}).`);
    void vscode.window.showInformationMessage(`EM Lab: ${spec.label} saved. Run "EM Lab: Check Environment" to test it.`);
  };
  const clearCommand = (spec: SecretSpec) => async () => {
    await secrets.clear(spec.name);
    deps.log.info(`${spec.label} removed from SecretStorage.`);
    void vscode.window.showInformationMessage(`EM Lab: ${spec.label} removed from SecretStorage (${spec.name} in your environment or .env still applies).`);
  };
  const [openai, hf] = SPECS as [SecretSpec, SecretSpec];
  return vscode.Disposable.from(
    vscode.commands.registerCommand('emLab.setOpenAiKey', setCommand(openai)),
    vscode.commands.registerCommand('emLab.clearOpenAiKey', clearCommand(openai)),
    vscode.commands.registerCommand('emLab.setHfToken', setCommand(hf)),
    vscode.commands.registerCommand('emLab.clearHfToken', clearCommand(hf)),
  );
}
