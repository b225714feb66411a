// protobufjs generates each message type's encoder and decoder on its first use, which for
// a schema like the image's costs tens of ms: done ahead, where no one waits for it.
import protobuf from 'protobufjs';

/** Generates the codec of every message type under `ns`. */
export function generateCodecs(ns: protobuf.NamespaceBase): void {
  for (const n of ns.nestedArray) {
    if (n instanceof protobuf.Type) n.setup();
    if (n instanceof protobuf.Namespace || n instanceof protobuf.Type) generateCodecs(n);
  }
}
