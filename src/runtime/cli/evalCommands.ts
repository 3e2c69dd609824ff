// Evaluation commands: question sets, generation, judging, metrics, sweeps and the homework submission.
import type { CliCommand } from './command';
import { metricsCommand } from './evalMetricsCommand';
import { judgeCommand } from './evalJudgeCommand';
import { generateEvalCommand, questionsCommand, sweepCommand } from './evalGenerateCommands';
import { checkSubmissionCommand, submissionCommand } from './evalSubmissionCommands';

export const evalCommands: CliCommand[] = [questionsCommand, generateEvalCommand, judgeCommand, metricsCommand, sweepCommand, checkSubmissionCommand, submissionCommand];
