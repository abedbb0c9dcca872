import type { NodeAPI } from './node-red';
import { Downstream } from './downstream';
import { xstateSettings } from './settings';

/**
 * TCP_NODELAY on the MQTT connections a chart node's events come in and its messages go out by.
 *
 * Node-RED's `mqtt-broker` node (10-mqtt.js) connects with mqtt.js, which never turns Nagle's
 * algorithm off: a small publish waits for the ACK of the previous one, about 40 ms a hop with
 * delayed ACKs. What stays put in 10-mqtt.js, and so what this hooks:
 * - the `mqtt-broker` config node, found by its id, until a deploy replaces it;
 * - its `client` (an mqtt.js MqttClient) until the broker node's `connect()` makes a new one: when
 *   the first `mqtt in`/`mqtt out` registers, and after a disconnect (the `connect` and
 *   `disconnect` actions of those nodes); the old client is ended (`end` event);
 * - mqtt.js makes a new socket (`client.stream`) per connection and emits `connect` on every one.
 * So: one `connect` and one `end` listener per client (moved when the client changes, never one per
 * event), the current socket set at once, the brokers looked up again after every deploy
 * (`flows:started`), and a slow look for a new client only while there is none or it has ended.
 *
 * Opt-out: settings.js `xstate: { tcpNoDelay: false }`.
 */

interface Stream {
  setNoDelay?(noDelay?: boolean): unknown;
}

/** The parts of an mqtt.js MqttClient used here. */
interface MqttClient {
  stream?: Stream;
  disconnecting?: boolean;
  disconnected?: boolean;
  on(event: 'connect' | 'end', listener: () => void): unknown;
  removeListener(event: 'connect' | 'end', listener: () => void): unknown;
}

/** A node of the active flow configuration, as `RED.nodes.eachNode` gives it. */
interface NodeConfig {
  id: string;
  type: string;
  wires?: string[][];
  broker?: string;
}

type RuntimeApi = NodeAPI & {
  nodes: NodeAPI['nodes'] & { eachNode?(callback: (config: NodeConfig) => void): void };
  events?: {
    on(event: 'flows:started', listener: () => void): unknown;
    removeListener(event: 'flows:started', listener: () => void): unknown;
  };
};

const LOOK_FOR_CLIENT_MS = 1000;
const MAX_NODES = 200;

/** Sockets already set; a socket is set once however many charts share its broker. */
const done = new WeakSet<object>();

function setNoDelay(stream: Stream | undefined): void {
  // A websocket stream has no setNoDelay (the ws library sets it on its own socket).
  if (!stream || typeof stream.setNoDelay !== 'function' || done.has(stream)) return;
  done.add(stream);
  stream.setNoDelay(true);
}

/** One `mqtt-broker` node, shared by the chart nodes wired to it. */
class BrokerHook {
  users = 0;
  private client?: MqttClient;
  private look?: NodeJS.Timeout;

  constructor(
    private readonly RED: RuntimeApi,
    readonly brokerId: string,
  ) {}

  private readonly onConnect = () => setNoDelay(this.client?.stream);
  private readonly onEnd = () => this.lookForClient();

  /** Follows the broker node's current client and sets its current socket. */
  sync(): void {
    const broker = this.RED.nodes.getNode(this.brokerId) as { type?: string; client?: MqttClient } | null;
    const client = broker?.type === 'mqtt-broker' ? broker.client : undefined;
    if (client !== this.client) {
      this.unhook();
      if (client) {
        client.on('connect', this.onConnect);
        client.on('end', this.onEnd);
        this.client = client;
      }
    }
    if (client && !client.disconnecting && !client.disconnected) {
      setNoDelay(client.stream);
      this.stopLooking();
    } else {
      this.lookForClient();
    }
  }

  close(): void {
    this.unhook();
    this.stopLooking();
  }

  private unhook(): void {
    this.client?.removeListener('connect', this.onConnect);
    this.client?.removeListener('end', this.onEnd);
    this.client = undefined;
  }

  private lookForClient(): void {
    if (this.look) return;
    this.look = setInterval(() => this.sync(), LOOK_FOR_CLIENT_MS);
    this.look.unref();
  }

  private stopLooking(): void {
    if (this.look) clearInterval(this.look);
    this.look = undefined;
  }
}

const hooks = new Map<string, BrokerHook>();

function acquire(RED: RuntimeApi, brokerId: string): void {
  let hook = hooks.get(brokerId);
  if (!hook) {
    hook = new BrokerHook(RED, brokerId);
    hooks.set(brokerId, hook);
  }
  hook.users++;
}

function release(brokerId: string): void {
  const hook = hooks.get(brokerId);
  if (!hook || --hook.users > 0) return;
  hook.close();
  hooks.delete(brokerId);
}

/** The `mqtt in` nodes whose messages reach `targetId`, directly or through other nodes. */
function mqttInUpstream(RED: RuntimeApi, targetId: string): NodeConfig[] {
  const feeding = new Map<string, NodeConfig[]>();
  RED.nodes.eachNode?.((config) => {
    for (const target of new Set((config.wires ?? []).flat())) {
      const list = feeding.get(target);
      if (list) list.push(config);
      else feeding.set(target, [config]);
    }
  });
  const found: NodeConfig[] = [];
  const seen = new Set<string>([targetId]);
  const queue = [targetId];
  while (queue.length > 0 && seen.size < MAX_NODES) {
    for (const config of feeding.get(queue.shift() as string) ?? []) {
      if (seen.has(config.id)) continue;
      seen.add(config.id);
      // A disabled node is in the configuration but not running.
      if (!RED.nodes.getNode(config.id)) continue;
      if (config.type === 'mqtt in') found.push(config);
      else queue.push(config.id);
    }
  }
  return found;
}

/** The ids of the `mqtt-broker` nodes of the `mqtt in` nodes wired into the chart node and the `mqtt out` nodes it reaches. */
function brokerIdsOf(RED: RuntimeApi, chart: { id: string }): Set<string> {
  const ids = new Set<string>();
  for (const mqttIn of mqttInUpstream(RED, chart.id)) if (mqttIn.broker) ids.add(mqttIn.broker);
  for (const mqttOut of new Downstream(RED, chart as never, MAX_NODES).mqttOut) {
    const id = (mqttOut as { broker?: string }).broker;
    if (id) ids.add(id);
  }
  return ids;
}

/**
 * Keeps TCP_NODELAY on the sockets of the `mqtt-broker` nodes a chart node is wired to, now and on
 * every (re)connect, until the returned function is called (when the chart node closes).
 */
export function keepTcpNoDelay(RED: NodeAPI, chart: { id: string }): () => void {
  const api = RED as RuntimeApi;
  if (xstateSettings(RED).tcpNoDelay === false) return () => {};
  let held = new Set<string>();
  let closed = false;
  const refresh = () => {
    if (closed) return;
    const ids = brokerIdsOf(api, chart);
    for (const id of ids) if (!held.has(id)) acquire(api, id);
    for (const id of held) if (!ids.has(id)) release(id);
    held = ids;
    for (const id of ids) hooks.get(id)?.sync();
  };
  // Now, once the rest of the flow exists, and after every deploy (wiring and brokers may change).
  refresh();
  const soon = setImmediate(refresh);
  api.events?.on('flows:started', refresh);
  return () => {
    closed = true;
    clearImmediate(soon);
    api.events?.removeListener('flows:started', refresh);
    for (const id of held) release(id);
    held = new Set();
  };
}
