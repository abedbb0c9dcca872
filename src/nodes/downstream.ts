import type { NodeAPI } from './node-red';

interface WiredNode {
  id: string;
  type: string;
  wires?: string[][];
  brokerConn?: { connected?: boolean } | null;
}

/**
 * The `mqtt out` nodes a node's messages can reach, through any nodes in between. Node-RED's
 * `mqtt out` drops a message silently while its broker is disconnected, so what this node emits
 * waits until they are connected.
 */
export function downstreamMqttOut(RED: NodeAPI, start: WiredNode, maxNodes = 200): WiredNode[] {
  return reachableMqttOut(RED, start.id, (start.wires ?? []).flat(), maxNodes);
}

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

/** Resolves once every given `mqtt out` node's broker is connected, or after `timeoutMs`. */
export function mqttConnected(nodes: WiredNode[], timeoutMs: number, checkEveryMs = 100): Promise<boolean> {
  const connected = () => nodes.every((node) => node.brokerConn?.connected === true);
  if (connected()) return Promise.resolve(true);
  // The broker node emits nothing we can subscribe to: look at its `connected` flag.
  return new Promise((resolve) => {
    const started = Date.now();
    const timer = setInterval(() => {
      if (connected() || Date.now() - started >= timeoutMs) {
        clearInterval(timer);
        resolve(connected());
      }
    }, checkEveryMs);
    timer.unref();
  });
}
