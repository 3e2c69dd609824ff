// The runtime's version, reported in the handshake and by `em-lab --version`-style output.
import packageJson from '../../package.json';

export const RUNTIME_VERSION: string = packageJson.version;
