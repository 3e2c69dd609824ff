// Runs an `em-lab` CLI command in a VS Code terminal tab: the palette commands for CLI capabilities (sweep,
// submission, model pull, data mix, caches) use the very code path a terminal user runs, show its own output (which
// names CLI flags: the right wording for a terminal) and print the exact command line, so it can be re-run by hand.
// The CLI is the bundled dist/cli.js, forked with VS Code's Node (ELECTRON_RUN_AS_NODE), secrets by environment.
// Ctrl-C in the terminal stops it the way it stops in a shell (SIGINT: the CLI finishes the current unit of work).
import * as vscode from 'vscode';
import { fork } from 'node:child_process';
import type { HostDeps } from './deps';
import { commandLine } from '../protocol/commandLine';
import { buildRuntimeEnv } from './runtimeEnv';

export interface CliRun {
  /** Exit code; null when the process could not start. */
  code: number | null;
  /** What it printed on stdout (for commands whose result the caller reads, e.g. --json events). */
  stdout: string;
}


export function runCliInTerminal(deps: HostDeps, title: string, args: string[], cwd: string | undefined): Promise<CliRun> {
  const cli = vscode.Uri.joinPath(deps.context.extensionUri, 'dist', 'cli.js').fsPath;
  return new Promise((resolve) => {
    const write = new vscode.EventEmitter<string>();
    const close = new vscode.EventEmitter<number | void>();
    let child: ReturnType<typeof fork> | undefined;
    let stdout = '';
    const out = (text: string) => write.fire(text.replace(/\r?\n/g, '\r\n'));
    const pty: vscode.Pseudoterminal = {
      onDidWrite: write.event,
      onDidClose: close.event,
      open: () => {
        void (async () => {
          out(`\x1b[1m$ ${commandLine(['em-lab', ...args])}\x1b[0m${cwd ? `   (in ${cwd})` : ''}\n`);
          const env = buildRuntimeEnv(process.env, { OPENAI_API_KEY: await deps.getSecret('OPENAI_API_KEY'), HF_TOKEN: await deps.getSecret('HF_TOKEN') });
          env.EM_LAB_TTY = '1'; // progress as one redrawn line, as in a real terminal
          child = fork(cli, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'], execArgv: [] });
          child.stdout?.on('data', (b: Buffer) => {
            stdout += b.toString('utf8');
            out(b.toString('utf8'));
          });
          child.stderr?.on('data', (b: Buffer) => out(b.toString('utf8')));
          child.on('error', (err) => {
            out(`\nCould not start the EM Lab CLI (${cli}): ${err.message}\n`);
            resolve({ code: null, stdout });
          });
          child.on('exit', (code, signal) => {
            out(`\n\x1b[2m[${code === 0 ? 'done' : `exit ${code ?? signal}`}; press any key to close]\x1b[0m\n`);
            child = undefined;
            resolve({ code: code ?? 130, stdout });
          });
        })();
      },
      handleInput: (data) => {
        if (child && data === '\x03') child.kill('SIGINT');
        else if (!child) close.fire(0);
      },
      close: () => child?.kill('SIGINT'),
    };
    const terminal = vscode.window.createTerminal({ name: `EM Lab: ${title}`, pty, iconPath: new vscode.ThemeIcon('beaker') });
    terminal.show(true);
  });
}
