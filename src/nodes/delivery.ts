import { randomUUID } from 'node:crypto';
import { Output, type OutMessage } from '../engine/messages';
import { actionBus } from '../runtime/action-bus';
import { DeliveryTimeout } from '../runtime/outbox-relay';
import type { DeliveryPort } from '../runtime/chart-service';
import type { Node, NodeMessage } from './node-red';
import { toNodeMessage } from './node-messages';
import { allConnected } from './downstream';

interface WiredNode {
  id: string;
  type: string;
  brokerConn?: { connected?: boolean } | null;
}

interface SendEvent {
  msg?: { _msgid?: string };
}

interface CompleteEvent {
  msg?: { _msgid?: string };
  error?: unknown;
  node: { id: string; node?: { type?: string } };
}

export interface Hooks {
  add(name: string, handler: (event: never) => void): void;
  remove(name: string): void;
}

export const ACK_TIMEOUT_MS = 30000;
const HOOK_LABEL = 'xstate-durable-delivery';

/** A message of ours on its way through the flow: how many nodes still hold a copy of it. */
interface Journey {
  holders: number;
  failure?: unknown;
  settle: (failure?: unknown) => void;
}

/**
 * Follows messages through a flow with Node-RED's runtime hooks, for every chart node of the
 * process: each copy handed to a node (`onSend`) is held until that node completes it
 * (`onComplete`). A message is through when no node holds it any more: it reached every `mqtt out`
 * on its way (which completes a QoS 1 message when the broker acknowledged it) or was dropped by a
 * node (a switch, a function returning nothing). The hooks are added while some chart node needs
 * them, once per process, and removed with the last.
 */
class Journeys {
  private readonly journeys = new Map<string, Journey>();
  private users = 0;
  private hooks?: Hooks;

  /** How many chart nodes use the hooks now (for tests: nothing is left behind). */
  get attached(): number {
    return this.users;
  }

  attach(hooks: Hooks): void {
    if (this.users++ > 0) return;
    this.hooks = hooks;
    hooks.add(`onSend.${HOOK_LABEL}`, ((events: SendEvent[]) => this.sent(events)) as never);
    hooks.add(`onComplete.${HOOK_LABEL}`, ((event: CompleteEvent) => this.completed(event)) as never);
  }

  detach(): void {
    if (--this.users > 0) return;
    this.hooks?.remove(`*.${HOOK_LABEL}`);
    this.hooks = undefined;
  }

  begin(msgid: string, journey: Journey): void {
    this.journeys.set(msgid, journey);
  }

  end(msgid: string): void {
    this.journeys.delete(msgid);
  }

  holders(msgid: string): number | undefined {
    return this.journeys.get(msgid)?.holders;
  }

  private sent(events: SendEvent[]): void {
    for (const event of events) {
      const journey = event.msg?._msgid === undefined ? undefined : this.journeys.get(event.msg._msgid);
      if (journey) journey.holders++;
    }
  }

  private completed(event: CompleteEvent): void {
    const msgid = event.msg?._msgid;
    const journey = msgid === undefined ? undefined : this.journeys.get(msgid);
    if (!journey || msgid === undefined) return;
    // A broker that refused the message is worth another try; another node's error is the flow's
    // own verdict on it, which trying again would not change.
    if (event.error && event.node.node?.type === 'mqtt out') journey.failure ??= event.error;
    if (--journey.holders > 0) return;
    this.journeys.delete(msgid);
    journey.settle(journey.failure);
  }
}

export const journeys = new Journeys();

/**
 * Sends a transition's messages from a chart node and tells when they are delivered: with Node-RED's
 * hooks, when every copy was completed by the nodes on its way (see {@link Journeys}), else (a test
 * runtime without hooks) once handed over. A message nobody completes within `ackTimeoutMs` is a
 * {@link DeliveryTimeout}.
 */
export class Delivery implements DeliveryPort {
  private readonly mqttOut: WiredNode[];
  private readonly hooks?: Hooks;
  private readonly waiting = new Map<string, (failure?: unknown) => void>();
  private closed = false;

  constructor(
    private readonly node: Node,
    byOutput: WiredNode[][],
    hooks: Hooks | undefined,
    private readonly ackTimeoutMs = ACK_TIMEOUT_MS,
  ) {
    this.mqttOut = byOutput.flat();
    if (hooks) {
      this.hooks = hooks;
      journeys.attach(hooks);
    }
  }

  /** Whether every `mqtt out` node downstream is connected (else Node-RED would drop messages). */
  connected(): boolean {
    return allConnected(this.mqttOut);
  }

  deliver(messages: OutMessage[]): Promise<void> {
    if (this.closed) return Promise.reject(new Error('closed'));
    const outputs: NodeMessage[][] = [[], [], []];
    const ids: string[] = [];
    const arrivals: Array<Promise<void>> = [];
    for (const message of messages) {
      const msg = toNodeMessage(message);
      msg._msgid = randomUUID();
      outputs[message.output].push(msg);
      if (this.hooks) {
        ids.push(msg._msgid);
        arrivals.push(this.follow(msg._msgid));
      }
      if (message.output === Output.Action) actionBus.publish({ sourceNodeId: this.node.id, message });
    }
    this.node.send(outputs.map((list) => (list.length === 0 ? null : list)));
    // Sent on no wire at all: nobody holds it, it is through.
    for (const msgid of ids) if (journeys.holders(msgid) === 0) this.waiting.get(msgid)?.();
    return Promise.all(arrivals).then(() => {});
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const settle of [...this.waiting.values()]) settle(new Error('closed'));
    if (this.hooks) journeys.detach();
  }

  private follow(msgid: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const settle = (failure?: unknown) => {
        clearTimeout(timer);
        journeys.end(msgid);
        this.waiting.delete(msgid);
        if (failure) reject(failure);
        else resolve();
      };
      const timer = setTimeout(() => settle(new DeliveryTimeout(`not completed by the flow within ${this.ackTimeoutMs} ms`)), this.ackTimeoutMs);
      timer.unref();
      this.waiting.set(msgid, settle);
      journeys.begin(msgid, { holders: 0, settle });
    });
  }
}
