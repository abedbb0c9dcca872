import type { NodeAPI } from './node-red';
import type { Route } from './delivery';
import type { CorkableStream } from './broker-writes';

interface WiredNode {
  id: string;
  type: string;
  wires?: string[][];
  brokerConn?: { connected?: boolean; client?: { stream?: Partial<CorkableStream> } } | null;
  /** Node-RED's count of the node's input handlers that take `done` (internal; absent elsewhere). */
  _expectedDoneCount?: number;
}

/**
 * What lies downstream of a chart node, through any nodes in between (wires only: an `mqtt out`
 * behind a link node is not seen): the `mqtt out` nodes its messages can reach, and which nodes
 * lead to one. Node-RED's `mqtt out` drops a message silently while its broker is disconnected and
 * completes it when the broker acknowledged it: this is what a delivery waits for.
 */
export class Downstream implements Route {
  /** Every `mqtt out` node reachable from the chart node. */
  readonly mqttOut: WiredNode[];
  /** Per output of the chart node: whether every node wired to it is an `mqtt out` (and one is). */
  private readonly onlyMqttOut: boolean[];
  private readonly leads = new Map<string, boolean>();

  constructor(
    private readonly RED: NodeAPI,
    start: WiredNode,
    private readonly maxNodes = 200,
  ) {
    this.mqttOut = this.reachable((start.wires ?? []).flat(), start.id).filter((node) => node.type === 'mqtt out');
    this.onlyMqttOut = (start.wires ?? []).map((ids) => ids.length > 0 && ids.every((id) => (RED.nodes.getNode(id) as WiredNode | null)?.type === 'mqtt out'));
  }

  /**
   * Whether a message on this output may carry its payload as JSON text: every node wired to it is
   * an `mqtt out`, which publishes an object payload as `JSON.stringify` of it and text as it is, so
   * the bytes published are the same, without parsing a copy of the payload for it to serialize again.
   */
  publishesText(output: number): boolean {
    return this.onlyMqttOut[output] === true;
  }

  /** Whether every `mqtt out` node downstream is connected (the broker node emits no event for it). */
  connected(): boolean {
    return this.mqttOut.every((node) => node.brokerConn?.connected === true);
  }

  /** The sockets the `mqtt out` nodes downstream write to now (mqtt.js makes one per connection). */
  brokerStreams(): Set<CorkableStream> {
    const streams = new Set<CorkableStream>();
    for (const node of this.mqttOut) {
      const stream = node.brokerConn?.client?.stream;
      if (typeof stream?.cork === 'function' && typeof stream.uncork === 'function') streams.add(stream as CorkableStream);
    }
    return streams;
  }

  /** Whether a message handed to this node can reach an `mqtt out` (remembered per deploy). */
  follows(nodeId: string): boolean {
    let leads = this.leads.get(nodeId);
    if (leads === undefined) {
      leads = this.reachable([nodeId]).some((node) => node.type === 'mqtt out');
      this.leads.set(nodeId, leads);
    }
    return leads;
  }

  /**
   * Whether the node completes the messages it receives: Node-RED completes a message when an input
   * handler that takes `done` calls it; a node whose handlers take none never does.
   */
  completes(nodeId: string): boolean {
    const count = (this.RED.nodes.getNode(nodeId) as WiredNode | null)?._expectedDoneCount;
    return typeof count !== 'number' || count > 0;
  }

  private reachable(first: string[], exclude?: string): WiredNode[] {
    const found: WiredNode[] = [];
    const seen = new Set<string>(exclude === undefined ? [] : [exclude]);
    const queue = [...first];
    while (queue.length > 0 && seen.size < this.maxNodes) {
      const id = queue.shift() as string;
      if (seen.has(id)) continue;
      seen.add(id);
      const node = this.RED.nodes.getNode(id) as WiredNode | null;
      if (!node) continue;
      found.push(node);
      if (node.type !== 'mqtt out') queue.push(...(node.wires ?? []).flat());
    }
    return found;
  }
}
