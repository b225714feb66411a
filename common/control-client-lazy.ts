// The control client, loaded when first used: gRPC's modules take a Node process ~0.1 s to
// load, and a launch or restart starts its coordinator before it needs them.
type Control = typeof import('./control-client.js');

const control = (): Promise<Control> => import('./control-client.js');

export const call = (async (...args: Parameters<Control['call']>) => (await control()).call(...args)) as Control['call'];
export const coordinatorAlive = (async (...args: Parameters<Control['coordinatorAlive']>) => (await control()).coordinatorAlive(...args)) as Control['coordinatorAlive'];
