// The judge view's end of the host channel (see ../shared/hostRpc.ts). Browser code only.
import type { JudgeViewMethods, JudgeViewNotifications } from '../../src/protocol/evalMethods';
import { createHostRpc } from '../shared/hostRpc';

// open and save dialogs wait for as long as the user takes
const rpc = createHostRpc<JudgeViewMethods, JudgeViewNotifications>(10 * 60_000);
export const request = rpc.request;
export const onNotification = rpc.onNotification;
