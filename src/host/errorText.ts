// One line of text for an error shown to the user (runtime errors already say what to do next).
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
