import type { NodeAPI } from './node-red';

interface WiredNode {
  id: string;
  type: string;
  wires?: string[][];
  brokerConn?: { connected?: boolean } | null;
}

/**
 * Node-RED's `mqtt out` drops a message silently while its broker is disconnected, so a chart
 * node's messages wait until the `mqtt out` nodes they can reach, through any nodes in between,
 * are connected.
 */
/** Per output port, the `mqtt out` nodes that port's messages can reach. */
export function mqttOutByOutput(RED: NodeAPI, start: WiredNode, maxNodes = 200): WiredNode[][] {
  return (start.wires ?? []).map((port) => reachableMqttOut(RED, start.id, port, maxNodes));
}

function reachableMqttOut(RED: NodeAPI, startId: string, first: string[], maxNodes: number): WiredNode[] {
  const found: WiredNode[] = [];
  const seen = new Set<string>([startId]);
  const queue = [...first];
  while (queue.length > 0 && seen.size < maxNodes) {
    const id = queue.shift() as string;
    if (seen.has(id)) continue;
    seen.add(id);
    const node = RED.nodes.getNode(id) as WiredNode | null;
    if (!node) continue;
    if (node.type === 'mqtt out') found.push(node);
    else queue.push(...(node.wires ?? []).flat());
  }
  return found;
}

/** Whether every given `mqtt out` node's broker is connected (the broker node emits no event for it). */
export function allConnected(nodes: WiredNode[]): boolean {
  return nodes.every((node) => node.brokerConn?.connected === true);
}
