// The CLI's command model. Each domain lists its commands in its own file (dataCommands.ts, ...) and
// registry.ts collects them. Options are parsed with node:util parseArgs; every command gets --help and --json.
import type { ParseArgsConfig } from 'node:util';
import { UserError } from '../errors';

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  /**
   * Takes every following word up to the next option (`--domains bad_medical extreme_sports`), as well as repeats
   * and commas; implies `multiple`. Without it a second word after a one-value option is a surplus argument.
   */
  variadic?: boolean;
  default?: string | boolean;
  /** Shown in --help. Say the unit and the default. */
  description: string;
  /** Placeholder in --help, e.g. FILE or N. */
  valueName?: string;
}

export interface PositionalSpec {
  name: string;
  description: string;
  required?: boolean;
  variadic?: boolean;
}

export interface ParsedArgs {
  options: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

export interface CliIO {
  /** True when --json was given: write JSON lines with `event`, human text is suppressed. */
  readonly json: boolean;
  /** Human-readable line on stdout (suppressed under --json). */
  out(text: string): void;
  /** One JSON object per line on stdout under --json; ignored otherwise. */
  event(obj: Record<string, unknown>): void;
  /** Human text on stderr (warnings, progress). Always shown. */
  err(text: string): void;
  /** Progress for long jobs: a bar on a TTY stderr, a JSON `progress` event under --json. */
  progress(message: string, fraction?: number): void;
  /** Aborted on Ctrl-C; long jobs check it between steps. */
  readonly signal: AbortSignal;
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
}

export interface CliCommand {
  /** e.g. ['data', 'unprotect'] for `em-lab data unprotect`. */
  path: string[];
  summary: string;
  /** Longer text for --help: what it does, examples. */
  details?: string;
  positionals?: PositionalSpec[];
  options?: Record<string, OptionSpec>;
  /** Returns the process exit code (0 = success). Throw UserError for user mistakes. */
  run(args: ParsedArgs, io: CliIO): Promise<number>;
}

export function toParseArgsOptions(options: Record<string, OptionSpec>): NonNullable<ParseArgsConfig['options']> {
  const out: NonNullable<ParseArgsConfig['options']> = {};
  for (const [name, spec] of Object.entries(options)) {
    out[name] = { type: spec.type, ...(spec.short ? { short: spec.short } : {}), ...(spec.multiple || spec.variadic ? { multiple: true } : {}) };
  }
  return out;
}

// Typed getters, so commands don't cast.
export function str(args: ParsedArgs, name: string): string | undefined {
  const v = args.options[name];
  return typeof v === 'string' ? v : undefined;
}
export function bool(args: ParsedArgs, name: string): boolean {
  return args.options[name] === true;
}
/** What a numeric option accepts. Every CLI number is finite and >= 0 unless `min` says otherwise. */
export interface NumberRule {
  integer?: boolean;
  /** Default 0. */
  min?: number;
  max?: number;
}

const NUMBER_TEXT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?$/i;

/** The one parser of numeric options: rejects "", "abc", NaN, Infinity, hex and out-of-range values, naming the flag. */
export function parseNumberOption(name: string, text: string, rule: NumberRule = {}): number {
  const v = text.trim();
  const n = NUMBER_TEXT.test(v) ? Number(v) : NaN;
  const min = rule.min ?? 0;
  const what = rule.integer ? 'a whole number' : 'a number';
  const range = `${rule.max !== undefined ? ` from ${min} to ${rule.max}` : min === -Infinity ? '' : ` >= ${min}`}`;
  if (!Number.isFinite(n)) throw new UserError('bad-option', `--${name} expects ${what}${range}, got "${text}".`);
  if ((rule.integer && !Number.isInteger(n)) || n < min || (rule.max !== undefined && n > rule.max)) {
    throw new UserError('bad-option', `--${name} must be ${what}${range}, got ${text}.`);
  }
  return n;
}

export function num(args: ParsedArgs, name: string, fallback?: number, rule?: NumberRule): number | undefined {
  const v = str(args, name);
  if (v === undefined) return fallback;
  return parseNumberOption(name, v, rule);
}
export function list(args: ParsedArgs, name: string): string[] | undefined {
  const v = args.options[name];
  if (v === undefined) return undefined;
  const items = Array.isArray(v) ? v : [v];
  return items.flatMap((s) => String(s).split(',')).map((s) => s.trim()).filter(Boolean);
}

/** --batch N or auto (default): most sequences the local engine decodes at once (auto = as many as memory allows). */
export function batchOption(args: ParsedArgs): number | 'auto' {
  const v = str(args, 'batch');
  if (v === undefined || v === 'auto') return 'auto';
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UserError('bad-args', `--batch must be a positive integer or auto, got "${v}".`);
  return n;
}

/**
 * Rewrites `--name a b c` of a variadic option into `--name=a --name=b --name=c`, so parseArgs sees repeats; every
 * other argument is kept as it is. A value never starts with "-" (that is the next option).
 */
export function expandVariadicOptions(argv: readonly string[], options: Record<string, OptionSpec>): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      out.push(...argv.slice(i));
      break;
    }
    const m = /^--([^=]+)(?:=(.*))?$/s.exec(a);
    if (!m || !options[m[1]!]?.variadic) {
      out.push(a);
      continue;
    }
    const values = m[2] !== undefined ? [m[2]] : [];
    while (i + 1 < argv.length && !argv[i + 1]!.startsWith('-')) values.push(argv[++i]!);
    if (values.length === 0) out.push(a); // parseArgs reports the missing value
    for (const v of values) out.push(`--${m[1]}=${v}`);
  }
  return out;
}
