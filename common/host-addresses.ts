// Where another host reaches this one.
import os from 'node:os';

/** This host's IPv4 addresses, loopback last (for a peer on this same host). */
export function hostAddresses(): string[] {
  const all = Object.values(os.networkInterfaces()).flat().filter((a): a is os.NetworkInterfaceInfo => !!a && a.family === 'IPv4');
  const loop = all.filter((a) => a.internal).map((a) => a.address);
  return [...all.filter((a) => !a.internal).map((a) => a.address), ...(loop.length ? loop : ['127.0.0.1'])];
}
