// A command line as a POSIX shell reads it, for display (the exact `em-lab ...` a user can copy and run): the host's
// EM Lab terminal, the New Experiment form's "Same as" line and the report's commands show commands this way.
// Display only: processes get argv arrays, never a string to parse.

export function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

export function commandLine(args: readonly string[]): string {
  return args.map(shellQuote).join(' ');
}
