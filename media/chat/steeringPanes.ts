// Puts a steering control (steeringControl.ts) in each pane's header and keeps its fields in the pane's persisted
// state. The file is read by the host (sandbox/directionInfo); each generation asks forRequest() what to send.
// Browser code.
import type { ChatViewMethods, PaneId, SteeringRef } from '../../src/protocol/chatMethods';
import { describeSteering } from '../../src/protocol/directionMethods';
import type { PersistedState } from './state';
import { createSteeringControl, type SteeringControl } from './steeringControl';
import { NO_STEERING, pickLayer, steeringRef, type SteeringFields } from './steeringFields';
import type { Layout } from './view';

type Request = <K extends keyof ChatViewMethods & string>(method: K, params: ChatViewMethods[K][0]) => Promise<ChatViewMethods[K][1]>;

export interface PaneSteering {
  /** What the pane's next generation sends, and its label text; undefined when steering is off. */
  forRequest(pane: PaneId): { ref: SteeringRef; text: string } | undefined;
}

const PANE_NAME: Record<PaneId, string> = { left: 'Model A', right: 'Model B' };

export function attachSteering(layout: Layout, state: PersistedState, save: () => void, request: Request): PaneSteering {
  const controls = {} as Record<PaneId, SteeringControl>;
  const fieldsOf = (p: PaneId): SteeringFields => state.panes[p].steering ?? { ...NO_STEERING };
  const set = (p: PaneId, f: SteeringFields, error?: string) => {
    state.panes[p].steering = f;
    save();
    controls[p].render(f, error);
  };
  const readFile = (p: PaneId, file: string) =>
    request('sandbox/directionInfo', { file }).then(
      (info) => set(p, { ...fieldsOf(p), info, layer: pickLayer(info, fieldsOf(p).layer) }),
      (err) => controls[p].render(fieldsOf(p), err instanceof Error ? err.message : String(err)),
    );
  for (const p of ['left', 'right'] as const) {
    controls[p] = createSteeringControl(p, PANE_NAME[p], {
      onFile: (file) => void readFile(p, file),
      onBrowse: () => void request('sandbox/pickDirection', {}).then((r) => (r.file ? readFile(p, r.file) : undefined)),
      onChange: (f) => set(p, f),
    });
    layout.panes[p].root.querySelector('.pane-header')!.append(controls[p].element);
    controls[p].render(fieldsOf(p));
    // A file changed on disk since the view last read it (recomputed): read it again, keeping layer and strength.
    const file = state.panes[p].steering?.info?.file;
    if (file) void readFile(p, file);
  }
  return {
    forRequest(p) {
      const ref = steeringRef(state.panes[p].steering);
      return ref ? { ref, text: describeSteering(ref) } : undefined;
    },
  };
}
