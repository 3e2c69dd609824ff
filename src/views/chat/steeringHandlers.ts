// The chat views' steering requests (docs/steering.md): read a direction file (its layers and |d| per layer, for the
// pane's control) and pick one with the file dialog. Shared by the sidebar chat and the editor-tab sandbox.
import * as vscode from 'vscode';
import type { HostDeps } from '../../host/deps';
import type { ViewHandlers } from '../../host/viewChannel';
import { noParams } from '../../host/viewParams';
import type { ChatViewMethods } from '../../protocol/chatMethods';
import { parseDirectionInfo } from './steeringParams';

/** `deps` is read per call (the controller's handler table is built before its constructor runs). */
export function steeringHandlers(deps: () => HostDeps): Pick<ViewHandlers<ChatViewMethods>, 'sandbox/directionInfo' | 'sandbox/pickDirection'> {
  return {
    'sandbox/directionInfo': { parse: parseDirectionInfo, run: (p) => deps().runtime.request('direction/info', p) },
    'sandbox/pickDirection': {
      parse: noParams,
      run: async () => {
        const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
        const picked = await vscode.window.showOpenDialog({
          title: 'Direction file (em-lab direction compute)',
          canSelectMany: false,
          filters: { 'Direction files': ['safetensors'] },
          openLabel: 'Steer with this direction',
          ...(folder ? { defaultUri: folder } : {}),
        });
        return picked?.[0] ? { file: picked[0].fsPath } : {};
      },
    },
  };
}
