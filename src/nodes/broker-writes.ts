/**
 * The messages a chart node sends in one go leave each MQTT connection in one socket write.
 *
 * With TCP_NODELAY (see tcp-nodelay.ts) every socket write is a syscall and a TCP segment of its own.
 * Node-RED hands each message to the next node in an immediate of its own (asynchronous delivery),
 * and mqtt.js corks its socket per packet only until the next tick, which comes after each immediate:
 * a group commit's hundred messages left by a hundred writes, about a fifth of Node-RED's CPU on
 * bench a's chart path. So the sockets the messages leave by are corked by an immediate queued ahead
 * of Node-RED's deliveries and uncorked by one queued behind them: what the `mqtt out` nodes write
 * meanwhile leaves in one write. Only those immediates are held: whatever the process writes on the
 * connection before them (acknowledgements of incoming events while it reads its sockets, say)
 * leaves as before, and bytes leave in the order they were written. A message that passes through
 * another node first is delivered to its `mqtt out` in a later turn and leaves by itself.
 */

/** The part of a Node.js Writable used here (mqtt.js's socket, or its websocket stream). */
export interface CorkableStream {
  cork(): void;
  uncork(): void;
}

/** Streams held for the deliveries queued so far, with the immediate that lets each go. */
const held = new Map<CorkableStream, NodeJS.Immediate>();

/**
 * Calls `send` (which queues Node-RED's deliveries) with the streams held from just before those
 * deliveries run until just after. Called again before the first ones ran (a group's charts are
 * sent one after another), it moves the release behind the newer deliveries.
 */
export function oneWriteFor(streams: Iterable<CorkableStream>, send: () => void): void {
  const list = [...streams];
  for (const stream of list) {
    const release = held.get(stream);
    if (release) clearImmediate(release);
    else setImmediate(() => stream.cork());
  }
  try {
    send();
  } finally {
    // Even when send() throws: a socket left corked would hold every later write on the connection
    // (keepalives included) until some other hand-over happened to release it.
    for (const stream of list) {
      held.set(
        stream,
        setImmediate(() => {
          held.delete(stream);
          stream.uncork();
        }),
      );
    }
  }
}
