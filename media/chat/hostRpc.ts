// The chat view's end of the host channel (see ../shared/hostRpc.ts). Browser code only.
import type { ChatViewMethods, ChatViewNotifications } from '../../src/protocol/chatMethods';
import { createHostRpc } from '../shared/hostRpc';

// a first model load converts or builds the model (minutes for a 1B model on a slow disk); the rest is quick
const rpc = createHostRpc<ChatViewMethods, ChatViewNotifications>(30 * 60_000);
export const request = rpc.request;
export const onNotification = rpc.onNotification;
