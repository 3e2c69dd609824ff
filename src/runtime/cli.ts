// `em-lab` command-line entry: the same runtime services the VS Code extension uses, in-process.
import { parseArgs } from 'node:util';
import { allCommands } from './cli/registry';
import { expandVariadicOptions, toParseArgsOptions, type CliCommand, type CliIO, type OptionSpec } from './cli/command';
import { errorCode, errorMessage } from './errors';
import { toUserError } from './osErrors';

const GLOBAL_OPTIONS: Record<string, OptionSpec> = {
  help: { type: 'boolean', short: 'h', description: 'Show help for this command.' },
  json: { type: 'boolean', description: 'Write JSON lines (one object per line) instead of readable text.' },
};

function findCommand(argv: string[]): { command?: CliCommand; rest: string[]; prefix: string[] } {
  let best: CliCommand | undefined;
  for (const c of allCommands) {
    if (c.path.every((p, i) => argv[i] === p) && (!best || c.path.length > best.path.length)) best = c;
  }
  if (best) return { command: best, rest: argv.slice(best.path.length), prefix: best.path };
  const prefix: string[] = [];
  for (const word of argv) {
    if (word.startsWith('-')) break;
    if (allCommands.some((c) => [...prefix, word].every((p, i) => c.path[i] === p))) prefix.push(word);
    else break;
  }
  return { rest: argv.slice(prefix.length), prefix };
}

function overview(prefix: string[]): string {
  const cmds = allCommands.filter((c) => prefix.every((p, i) => c.path[i] === p));
  const width = Math.max(...cmds.map((c) => c.path.join(' ').length), 8);
  return [
    `Usage: em-lab ${prefix.length ? prefix.join(' ') + ' ' : ''}<command> [options]`,
    '',
    'EM Lab: reproduce "Model Organisms for Emergent Misalignment" end to end, without Python.',
    '',
    'Commands:',
    ...cmds.map((c) => `  ${c.path.join(' ').padEnd(width)}  ${c.summary}`),
    '',
    'Run `em-lab <command> --help` for the options of a command. Every command takes --json.',
  ].join('\n');
}

export function commandHelp(c: CliCommand): string {
  const opts = { ...(c.options ?? {}), ...GLOBAL_OPTIONS };
  const pos = (c.positionals ?? []).map((p) => (p.required ? `<${p.name}${p.variadic ? '...' : ''}>` : `[${p.name}${p.variadic ? '...' : ''}]`));
  const optLines = Object.entries(opts).map(([name, s]) => {
    const flag = `${s.short ? `-${s.short}, ` : '    '}--${name}${s.type === 'string' ? ` ${s.valueName ?? 'VALUE'}${s.variadic ? '...' : ''}` : ''}`;
    const def = s.default !== undefined ? ` (default: ${String(s.default)})` : '';
    return `  ${flag.padEnd(34)} ${s.description}${def}`;
  });
  return [
    `Usage: em-lab ${c.path.join(' ')}${pos.length ? ' ' + pos.join(' ') : ''} [options]`,
    '',
    c.summary,
    ...(c.details ? ['', c.details] : []),
    ...((c.positionals ?? []).length ? ['', 'Arguments:', ...(c.positionals ?? []).map((p) => `  ${p.name.padEnd(34)} ${p.description}`)] : []),
    '',
    'Options:',
    ...optLines,
  ].join('\n');
}

type ArgToken = NonNullable<ReturnType<typeof parseArgs>['tokens']>[number];

/**
 * Words beyond the command's declared arguments are an error that names them: a dropped word is a silently
 * different experiment (`train --domains bad_medical extreme_sports` once trained on bad_medical only).
 */
export function surplusArguments(command: CliCommand, tokens: readonly ArgToken[]): string | undefined {
  const declared = command.positionals ?? [];
  const positionals = tokens.filter((t) => t.kind === 'positional');
  if (declared.some((p) => p.variadic) || positionals.length <= declared.length) return undefined;
  const extra = positionals.slice(declared.length);
  const takes = declared.length ? `takes ${declared.length === 1 ? 'one argument' : `${declared.length} arguments`} (${declared.map((p) => p.name).join(', ')})` : 'takes no arguments';
  // The usual cause: a second value after an option that takes one ("--set medical general").
  const before = tokens[tokens.indexOf(extra[0]!) - 1];
  const name = before?.kind === 'option' && before.value !== undefined && !before.inlineValue ? before.name : undefined;
  const option = name ? command.options?.[name] : undefined;
  const hint = option && !option.variadic ? ` --${name} takes one value${option.multiple ? ' per use (repeat the option for more)' : ''}; give several as a comma-separated list.` : '';
  return `unexpected argument${extra.length > 1 ? 's' : ''} ${extra.map((e) => JSON.stringify(e.kind === 'positional' ? e.value : '')).join(' ')}: em-lab ${command.path.join(' ')} ${takes}.${hint}`;
}

/** Where the CLI writes and what it runs in: the real process by default, captured streams in tests. */
export interface CliHost {
  stdout(text: string): void;
  stderr(text: string): void;
  cwd: string;
  env: NodeJS.ProcessEnv;
  stderrIsTTY: boolean;
}

function processHost(): CliHost {
  return { stdout: (t) => void process.stdout.write(t), stderr: (t) => void process.stderr.write(t), cwd: process.cwd(), env: process.env, stderrIsTTY: process.stderr.isTTY === true };
}

function makeIO(json: boolean, signal: AbortSignal, host: CliHost): CliIO {
  let lastProgress = 0;
  return {
    json,
    signal,
    cwd: host.cwd,
    env: host.env,
    out: (text) => {
      if (!json) host.stdout(text + '\n');
    },
    event: (obj) => {
      if (json) host.stdout(JSON.stringify(obj) + '\n');
    },
    err: (text) => host.stderr(text + '\n'),
    progress: (message, fraction) => {
      if (json) {
        host.stdout(JSON.stringify({ event: 'progress', message, ...(fraction !== undefined ? { fraction } : {}) }) + '\n');
        return;
      }
      const now = Date.now();
      if (now - lastProgress < 200 && fraction !== 1) return; // at most 5 updates a second
      lastProgress = now;
      const pct = fraction !== undefined ? ` ${(fraction * 100).toFixed(0).padStart(3)}%` : '';
      // EM_LAB_TTY=1: a terminal that is not the process's own TTY (VS Code's EM Lab terminal) redraws the line too.
      if (host.stderrIsTTY || process.env.EM_LAB_TTY === '1') host.stderr(`\r\x1b[K${message}${pct}${fraction === 1 ? '\n' : ''}`);
      else host.stderr(`${message}${pct}\n`);
    },
  };
}

export async function main(argv: string[], host: CliHost = processHost()): Promise<number> {
  const { command, rest, prefix } = findCommand(argv);
  if (!command) {
    // A word that names no command is an error even beside --help, so scripts never take it for a real command.
    const unknownWord = rest.find((w) => !w.startsWith('-'));
    if (unknownWord === undefined && (rest.length === 0 || rest.includes('--help') || rest.includes('-h'))) {
      host.stdout(overview(prefix) + '\n');
      return 0;
    }
    host.stderr(`em-lab: unknown command "${[...prefix, unknownWord ?? rest[0]].join(' ')}".\n\n${overview(prefix)}\n`);
    return 2;
  }
  let parsed;
  const allOptions = { ...(command.options ?? {}), ...GLOBAL_OPTIONS };
  try {
    parsed = parseArgs({ args: expandVariadicOptions(rest, allOptions), options: toParseArgsOptions(allOptions), allowPositionals: true, strict: true, tokens: true });
  } catch (err) {
    host.stderr(`em-lab ${command.path.join(' ')}: ${errorMessage(err)}\nRun \`em-lab ${command.path.join(' ')} --help\` for the options.\n`);
    return 2;
  }
  if (parsed.values.help) {
    host.stdout(commandHelp(command) + '\n');
    return 0;
  }
  const surplus = surplusArguments(command, parsed.tokens ?? []);
  if (surplus) {
    host.stderr(`em-lab ${command.path.join(' ')}: ${surplus}\nRun \`em-lab ${command.path.join(' ')} --help\` for its arguments and options.\n`);
    return 2;
  }
  const required = (command.positionals ?? []).filter((p) => p.required);
  if (parsed.positionals.length < required.length) {
    host.stderr(`em-lab ${command.path.join(' ')}: missing <${required[parsed.positionals.length]!.name}>.\n\n${commandHelp(command)}\n`);
    return 2;
  }
  const options: Record<string, string | boolean | string[] | undefined> = {};
  for (const [name, spec] of Object.entries(command.options ?? {})) {
    const v = (parsed.values as Record<string, string | boolean | string[] | undefined>)[name];
    options[name] = v ?? (spec.default as string | boolean | undefined);
  }
  const json = parsed.values.json === true;
  const controller = new AbortController();
  const onSigint = () => {
    if (controller.signal.aborted) process.exit(130);
    host.stderr('\nStopping (press Ctrl-C again to force)...\n');
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  // SLURM's scancel and time limit (and `kill`) send SIGTERM: stop as cleanly as on Ctrl-C (a training step is
  // checkpointed) instead of dying mid-write; the scheduler's SIGKILL follows if that takes too long. Unlike a
  // second Ctrl-C, a second SIGTERM does not force: scancel signals every process of the task and the sbatch
  // script forwards its own, so one cancel arrives twice.
  const onSigterm = () => {
    if (controller.signal.aborted) return;
    host.stderr('\nStopping (SIGTERM)...\n');
    controller.abort();
  };
  process.on('SIGTERM', onSigterm);
  const io = makeIO(json, controller.signal, host);
  try {
    return await command.run({ options, positionals: parsed.positionals }, io);
  } catch (caught) {
    // OS errors (a full disk, a read-only folder, a file where a folder should be) become messages naming the path
    const user = toUserError(caught);
    const err = user ?? caught;
    const code = errorCode(err);
    if (json) host.stdout(JSON.stringify({ event: 'error', code, message: errorMessage(err) }) + '\n');
    if (user || code === 'cancelled') host.stderr(`error: ${errorMessage(err)}\n`);
    else host.stderr(`internal error: ${err instanceof Error ? err.stack : String(err)}\n`);
    return code === 'cancelled' ? 130 : 1;
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigterm);
  }
}

// Run when executed directly (`node dist/cli.mjs`, or `tsx src/runtime/cli.ts` in development).
// dist/cli.js (the package `bin`) imports this module and calls main() itself.
const invokedDirectly = process.argv[1] !== undefined && /cli\.(mjs|ts)$/.test(process.argv[1]);
if (invokedDirectly) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      process.stderr.write(`internal error: ${err instanceof Error ? err.stack : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
