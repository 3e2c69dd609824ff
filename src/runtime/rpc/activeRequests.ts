// Request ids the compute worker is working on right now. Lives in its own module so the debug handlers can
// report it (tests check that a cancelled request really stopped) without importing the dispatcher.
const active = new Set<number>();

export function markActive(id: number): void {
  active.add(id);
}

export function markDone(id: number): void {
  active.delete(id);
}

export function activeRequestIds(): number[] {
  return [...active].sort((a, b) => a - b);
}
