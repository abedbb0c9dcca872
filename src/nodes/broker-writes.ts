/**
 * The messages a chart node sends in one go leave each MQTT connection in one socket write.
 *
 * With TCP_NODELAY (see tcp-nodelay.ts) every socket write is a syscall and a TCP segment of its own.
 * Node-RED hands each message to the next node in an immediate of its own (asynchronous delivery),
 * and mqtt.js corks its socket per packet only until the next tick, which comes after each immediate:
 * a group commit's hundred messages left by a hundred writes, about a fifth of Node-RED's CPU on
 * bench a's chart path. Corking the sockets the messages leave by, right after they are sent, until
 * an immediate queued behind Node-RED's deliveries, sends what the `mqtt out` nodes wrote meanwhile
 * in one write. Nothing waits longer than the immediates already queued; bytes leave in the order
 * they were written. A message that passes through another node first is delivered to its
 * `mqtt out` in a later loop turn and leaves by itself, as before.
 */

/** The part of a Node.js Writable used here (mqtt.js's socket, or its websocket stream). */
export interface CorkableStream {
  cork(): void;
  uncork(): void;
}

/** Streams corked until the end of this turn's immediates, with the immediate that uncorks each. */
const held = new Map<CorkableStream, NodeJS.Immediate>();

/**
 * Holds what is written to these streams until the immediates queued so far have run. Call it after
 * the `send()` calls: the uncork is queued behind the deliveries they queued. Called again for a
 * stream already held, it moves the uncork behind the newer deliveries (a group's charts are sent
 * one after another).
 */
export function holdWritesBehindDeliveries(streams: Iterable<CorkableStream>): void {
  for (const stream of streams) {
    const pending = held.get(stream);
    if (pending) clearImmediate(pending);
    else stream.cork();
    held.set(
      stream,
      setImmediate(() => {
        held.delete(stream);
        stream.uncork();
      }),
    );
  }
}
