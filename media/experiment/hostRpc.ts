// The New Experiment form's end of the host channel (see ../shared/hostRpc.ts). Browser code only.
import type { NewExperimentMethods, NewExperimentNotifications } from '../../src/protocol/experimentViewMethods';
import { createHostRpc } from '../shared/hostRpc';

// file dialogs and the key prompt wait for as long as the user takes
const rpc = createHostRpc<NewExperimentMethods, NewExperimentNotifications>(10 * 60_000);
export const request = rpc.request;
