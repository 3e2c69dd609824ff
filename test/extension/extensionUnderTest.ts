// The EM Lab extension as the extension host sees it, and its manifest's contributions.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';

// `${publisher}.${name}` from package.json.
export const EXTENSION_ID = 'em-lab.em-lab';

export interface ContributedCommand {
  command: string;
  title: string;
  category?: string;
}

export function emLabExtension(): vscode.Extension<unknown> {
  const ext = vscode.extensions.getExtension(EXTENSION_ID);
  assert.ok(ext, `extension ${EXTENSION_ID} is not loaded: check package.json publisher/name and the extensionDevelopmentPath`);
  return ext;
}

/** contributes.commands read from the manifest at test time, so every new command is covered automatically. */
export function contributedCommands(): ContributedCommand[] {
  const manifest = emLabExtension().packageJSON as { contributes?: { commands?: ContributedCommand[] } };
  return manifest.contributes?.commands ?? [];
}
