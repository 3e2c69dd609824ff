// The doctor view's end of the host channel (see ../shared/hostRpc.ts). Browser code only.
import type { DoctorViewMethods, DoctorViewNotifications } from '../../src/protocol/doctorViewMethods';
import { createHostRpc } from '../shared/hostRpc';

// fix actions can wait on an input box for as long as the user takes; checks finish within ~60 s
const rpc = createHostRpc<DoctorViewMethods, DoctorViewNotifications>(10 * 60_000);
export const request = rpc.request;
export const onNotification = rpc.onNotification;
