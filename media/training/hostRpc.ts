// The training view's end of the host channel (see ../shared/hostRpc.ts). Browser code only.
import type { TrainViewMethods, TrainViewNotifications } from '../../src/protocol/trainViewMethods';
import { createHostRpc } from '../shared/hostRpc';

// the preview loads the model and tokenizer (seconds to a minute); the rest is quick
const rpc = createHostRpc<TrainViewMethods, TrainViewNotifications>(10 * 60_000);
export const request = rpc.request;
export const onNotification = rpc.onNotification;
