// Status bar item (runtime idle / busy / crashed) and the Start / Stop / Restart Runtime and Show Log commands.
import * as vscode from 'vscode';
import type { HostDeps } from './deps';
import type { RuntimeClient } from './runtimeClient';
import type { RuntimeState } from './runtimeConnection';
import { errorText } from './errorText';

const LOOK: Record<RuntimeState, { icon: string; text: string; tooltip: string }> = {
  stopped: { icon: '$(circle-outline)', text: 'EM Lab', tooltip: 'EM Lab runtime: not running (starts on first use).' },
  starting: { icon: '$(loading~spin)', text: 'EM Lab', tooltip: 'EM Lab runtime: starting...' },
  idle: { icon: '$(check)', text: 'EM Lab', tooltip: 'EM Lab runtime: idle.' },
  busy: { icon: '$(sync~spin)', text: 'EM Lab', tooltip: 'EM Lab runtime: busy.' },
  crashed: { icon: '$(error)', text: 'EM Lab', tooltip: 'EM Lab runtime: crashed.' },
};

export function activateRuntimeControls(deps: HostDeps, client: RuntimeClient): vscode.Disposable {
  const item = vscode.window.createStatusBarItem('emLab.runtime', vscode.StatusBarAlignment.Left, 10);
  item.name = 'EM Lab Runtime';
  item.command = 'emLab.showLog';
  let lastCrash = '';
  const render = () => {
    const s = client.state;
    const look = LOOK[s];
    item.text = `${look.icon} ${look.text}`;
    const md = new vscode.MarkdownString(undefined, true);
    md.appendText(look.tooltip);
    if (s === 'busy') md.appendText(` ${client.pendingCount} request(s) running.`);
    if (client.pid) md.appendText(` pid ${client.pid}.`);
    if (s === 'crashed' && lastCrash) {
      md.appendText('\n\nLast stderr lines:\n');
      md.appendCodeblock(lastCrash, 'text');
    }
    md.appendText('\n\nClick to show the EM Lab log.');
    item.tooltip = md;
    item.backgroundColor = s === 'crashed' ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
  };
  render();
  item.show();

  const run = (what: string, action: () => Promise<unknown>) => async () => {
    try {
      await action();
    } catch (err) {
      deps.log.error(`${what} failed: ${errorText(err)}`);
      const choice = await vscode.window.showErrorMessage(`EM Lab: ${what} failed: ${errorText(err)}`, 'Show Log');
      if (choice === 'Show Log') deps.log.show();
    }
  };

  return vscode.Disposable.from(
    item,
    client.onDidChangeState(render),
    client.onDidExit((e) => {
      if (e.expected) return;
      lastCrash = e.stderrTail.split('\n').slice(-12).join('\n');
      render();
      if (!e.willRestart) {
        void vscode.window.showErrorMessage('EM Lab: the runtime crashed repeatedly and was not restarted. See the log, fix the cause, then restart it.', 'Show Log', 'Restart Runtime').then((choice) => {
          if (choice === 'Show Log') deps.log.show();
          if (choice === 'Restart Runtime') void vscode.commands.executeCommand('emLab.restartRuntime');
        });
      }
    }),
    vscode.commands.registerCommand('emLab.startRuntime', run('Start Runtime', async () => {
      const info = await client.start();
      deps.log.info(`EM Lab runtime ${info.runtimeVersion} running (pid ${info.pid}).`);
    })),
    vscode.commands.registerCommand('emLab.stopRuntime', run('Stop Runtime', () => client.stop())),
    vscode.commands.registerCommand('emLab.restartRuntime', run('Restart Runtime', async () => {
      const info = await client.restart();
      deps.log.info(`EM Lab runtime restarted (pid ${info.pid}).`);
    })),
    vscode.commands.registerCommand('emLab.showLog', () => deps.log.show()),
  );
}
