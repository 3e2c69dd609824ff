// The datasets view's end of the host channel (see ../shared/hostRpc.ts). Browser code only.
import type { DatasetBrowserMethods, DatasetBrowserNotifications } from '../../src/protocol/datasetBrowserMethods';
import { createHostRpc } from '../shared/hostRpc';

// stats on a large custom dataset can take a while; the runtime reports errors itself
const rpc = createHostRpc<DatasetBrowserMethods, DatasetBrowserNotifications>(120_000);
export const request = rpc.request;
export const onNotification = rpc.onNotification;
