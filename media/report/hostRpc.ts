// The report view's end of the host channel (see ../shared/hostRpc.ts). Browser code only.
import type { ReportViewMethods, ReportViewNotifications } from '../../src/protocol/experimentViewMethods';
import { createHostRpc } from '../shared/hostRpc';

// computing a report reads every judged file (seconds); an export writes charts and waits for the user's choice
const rpc = createHostRpc<ReportViewMethods, ReportViewNotifications>(10 * 60_000);
export const request = rpc.request;
export const onNotification = rpc.onNotification;
