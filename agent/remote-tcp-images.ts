// Whether a restart must make TCP connections between hosts again (agent/remote-tcp-restart.ts)
// before its restore: a module of its own, without gRPC, so that a restart with none loads
// gRPC while its memory is filled, not before.
import type { ProcessImageObject } from './engine-api.js';

/** Whether any of these images holds a TCP connection to the job on another host (made
 * again through the coordinator before the restore). */
export function hasRemoteTcp(images: ProcessImageObject[]): boolean {
  return images.some((img) => ((img as { sockets?: Array<{ remoteConn?: unknown }> }).sockets ?? []).some((s) => s.remoteConn));
}
