// The judge the extension uses when a command does not choose one: the emLab.judge.* settings, with the protocol's
// JUDGE_DEFAULTS where a setting is empty (the same defaults as the CLI's options).
import * as vscode from 'vscode';
import { JUDGE_DEFAULTS } from '../protocol/evalMethods';

export interface JudgeChoice {
  model: string;
  mode: 'sampled' | 'logprob';
  /** An OpenAI-compatible endpoint; undefined = OpenAI. */
  baseUrl?: string;
  concurrency: number;
}

export function judgeDefaults(): JudgeChoice {
  const cfg = vscode.workspace.getConfiguration('emLab.judge');
  const baseUrl = cfg.get<string>('baseUrl')?.trim();
  const concurrency = cfg.get<number>('concurrency');
  return {
    model: cfg.get<string>('model')?.trim() || JUDGE_DEFAULTS.model,
    mode: cfg.get<string>('mode') === 'logprob' ? 'logprob' : JUDGE_DEFAULTS.mode,
    ...(baseUrl ? { baseUrl } : {}),
    concurrency: typeof concurrency === 'number' && Number.isInteger(concurrency) && concurrency >= 1 ? concurrency : JUDGE_DEFAULTS.concurrency,
  };
}
