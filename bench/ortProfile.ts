// Sums an ONNX Runtime profile (the Chrome-trace JSON that `profile` in createSession makes ORT write) per op
// type, to see where a run's time goes: node time by op, share of the total, and call counts. Nodes inside Loop
// bodies are included (ORT profiles subgraph nodes too). Used by the benches with EMLAB_BENCH_PROFILE=1.
import { readFileSync } from 'node:fs';

interface TraceEvent {
  cat?: string;
  name?: string;
  ts?: number;
  dur?: number;
  args?: { op_name?: string };
}

export interface OpTime {
  op: string;
  ms: number;
  calls: number;
}

/**
 * Node time per op type (ms per run, summed over calls), largest first, over the session's runs after the first
 * `skipRuns` (warm-up, or a prefill before decode steps).
 */
export function opTimes(traceFile: string, skipRuns = 0): OpTime[] {
  const events = JSON.parse(readFileSync(traceFile, 'utf8')) as TraceEvent[];
  const runs = events.filter((e) => e.cat === 'Session' && e.name === 'model_run').sort((a, b) => a.ts! - b.ts!);
  const from = skipRuns > 0 ? runs[skipRuns - 1]!.ts! + runs[skipRuns - 1]!.dur! : -Infinity;
  const counted = Math.max(runs.length - skipRuns, 1);
  const by = new Map<string, OpTime>();
  for (const e of events) {
    if ((e.ts ?? 0) < from) continue;
    // each node has ..._fence_before, ..._kernel_time, ..._fence_after events; kernel_time is the node's run
    if (e.cat !== 'Node' || !e.name?.endsWith('_kernel_time') || !e.args?.op_name) continue;
    const t = by.get(e.args.op_name) ?? { op: e.args.op_name, ms: 0, calls: 0 };
    t.ms += (e.dur ?? 0) / 1000 / counted;
    t.calls += 1 / counted;
    by.set(e.args.op_name, t);
  }
  return [...by.values()].sort((a, b) => b.ms - a.ms);
}

/** A markdown table of the top `n` op types. */
export function opTable(times: OpTime[], n = 15): string {
  const total = times.filter((t) => t.op !== 'Loop').reduce((s, t) => s + t.ms, 0); // a Loop's time is its body's nodes
  const lines = ['| op | ms per run | share | calls per run |', '| --- | --- | --- | --- |'];
  for (const t of times.slice(0, n)) lines.push(`| ${t.op} | ${t.ms.toFixed(2)} | ${((100 * t.ms) / total).toFixed(1)}% | ${Math.round(t.calls)} |`);
  lines.push(`| all nodes (Loop excluded) | ${total.toFixed(2)} | 100% | ${Math.round(times.filter((t) => t.op !== 'Loop').reduce((s, t) => s + t.calls, 0))} |`);
  return lines.join('\n');
}
