// The judge the extension uses when a command does not choose one: the emLab.judge.* settings, with the protocol's
// JUDGE_DEFAULTS where a setting is empty (the same defaults as the CLI's options). The endpoint follows the
// machine-scoped rule of judgeEndpoint.ts: only the user's own settings may say where the key is sent; a value a
// workspace sets is ignored and the user is told (once per call, in the log and a warning).
import * as vscode from 'vscode';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { JUDGE_DEFAULTS } from '../protocol/evalMethods';
import { judgeEndpointFrom, workspaceJudgeBaseUrl } from './judgeEndpoint';

export interface JudgeChoice {
  model: string;
  mode: 'sampled' | 'logprob';
  /** An OpenAI-compatible endpoint from the user's settings; undefined = OpenAI. */
  baseUrl?: string;
  concurrency: number;
  /** Set when the workspace tried to choose the endpoint: what to tell the user. */
  ignored?: string;
}

export function judgeDefaults(): JudgeChoice {
  const cfg = vscode.workspace.getConfiguration('emLab.judge');
  // VS Code drops machine-scoped workspace values before inspect(): .vscode/settings.json is read for the message.
  const workspaceDir = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  const inspected = cfg.inspect<string>('baseUrl');
  const settingsFile = workspaceDir ? join(workspaceDir, '.vscode', 'settings.json') : undefined;
  const fromFile = settingsFile && existsSync(settingsFile) ? workspaceJudgeBaseUrl(readFileSync(settingsFile, 'utf8')) : undefined;
  const { baseURL, ignored } = judgeEndpointFrom({ ...inspected, ...(inspected?.workspaceValue === undefined && fromFile ? { workspaceValue: fromFile } : {}) });
  const concurrency = cfg.get<number>('concurrency');
  return {
    model: cfg.get<string>('model')?.trim() || JUDGE_DEFAULTS.model,
    mode: cfg.get<string>('mode') === 'logprob' ? 'logprob' : JUDGE_DEFAULTS.mode,
    ...(baseURL ? { baseUrl: baseURL } : {}),
    concurrency: typeof concurrency === 'number' && Number.isInteger(concurrency) && concurrency >= 1 ? concurrency : JUDGE_DEFAULTS.concurrency,
    ...(ignored ? { ignored } : {}),
  };
}

/** judgeDefaults(), telling the user when their workspace's endpoint was ignored. */
export function judgeChoiceFor(log: vscode.LogOutputChannel): JudgeChoice {
  const choice = judgeDefaults();
  if (choice.ignored) {
    log.warn(choice.ignored);
    void vscode.window.showWarningMessage(choice.ignored);
  }
  return choice;
}
