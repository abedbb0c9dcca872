import { Output, type OutMessage } from '../engine/messages';
import { errorText } from '../engine/texts';
import { actionBus } from '../runtime/action-bus';
import { DeliveryTimeout } from '../runtime/outbox-relay';
import type { DeliveryPort } from '../runtime/chart-service';
import type { Node, NodeMessage } from './node-red';
import { toNodeMessage } from './node-messages';
import type { Downstream } from './downstream';
import { randomId } from '../runtime/random-ids';
import { oneWriteFor } from './broker-writes';

interface SendEvent {
  msg?: { _msgid?: string };
  source?: { id?: string };
  destination?: { id?: string };
}

interface ReceiveEvent {
  msg?: { _msgid?: string };
  destination?: { id?: string };
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
/** How long a node that never completes messages may take to pass one on before it counts as dropped. */
export const PASS_ON_GRACE_MS = 1000;
const HOOK_LABEL = 'xstate-durable-delivery';

/** Where a message of ours may go, as the flow's wiring tells. */
export interface Route {
  /** Whether a copy handed to this node is waited for: it can reach an `mqtt out`. */
  follows(nodeId: string): boolean;
  /** Whether this node tells Node-RED when it is done with a message (its input handler takes `done`). */
  completes(nodeId: string): boolean;
}

/** A message of ours on its way through the flow: how many nodes still hold a copy of it. */
interface Journey {
  holders: number;
  route: Route;
  /** Holders that never complete messages: they let go when they pass it on, or after a grace. */
  passers?: Map<string, NodeJS.Timeout | undefined>;
  failure?: unknown;
  /** The hand-over the message belongs to, told when the message is through. */
  handOver: HandOver;
}

/**
 * The messages of one {@link Delivery.deliver} call on their way: resolves when every one is
 * through, rejects at the first failure (and stops following the others). One object and one
 * promise per hand-over; per message only its journey (under load every object that waits for the
 * broker's acknowledgement lives long enough to be promoted to V8's old generation).
 */
class HandOver {
  private remaining: number;
  private settled = false;

  constructor(
    readonly msgids: string[],
    readonly deadline: number,
    private readonly resolve: () => void,
    private readonly reject: (failure: unknown) => void,
    private readonly onSettled: (handOver: HandOver) => void,
  ) {
    this.remaining = msgids.length;
  }

  /** One of its messages is through, or failed. */
  through(failure?: unknown): void {
    if (this.settled) return;
    if (failure) return this.fail(failure);
    if (--this.remaining > 0) return;
    this.settled = true;
    this.onSettled(this);
    this.resolve();
  }

  /** Fails it: the messages not through yet are no longer followed. */
  fail(failure: unknown): void {
    if (this.settled) return;
    this.settled = true;
    for (const msgid of this.msgids) journeys.end(msgid);
    this.onSettled(this);
    this.reject(failure);
  }
}

/**
 * Follows messages through a flow with Node-RED's runtime hooks, for every chart node of the
 * process: each copy handed to a node that leads to an `mqtt out` (`onSend`) is held until that
 * node completes it (`onComplete`). A message is through when no node holds it any more: it reached
 * every `mqtt out` on its way (which completes a QoS 1 message when the broker acknowledged it) or
 * was dropped by a node (a function returning nothing). Some nodes never complete messages
 * (Node-RED's own switch and filter nodes among them): they hold a copy until they pass it on, or
 * for {@link PASS_ON_GRACE_MS} after they received it, and are then taken to have dropped it.
 * Copies handed to nodes that lead to no `mqtt out` are not waited for. The hooks are added while
 * some chart node needs them, once per process, and removed with the last.
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
    hooks.add(`postReceive.${HOOK_LABEL}`, ((event: ReceiveEvent) => this.received(event)) as never);
    hooks.add(`onComplete.${HOOK_LABEL}`, ((event: CompleteEvent) => this.completed(event)) as never);
  }

  detach(): void {
    if (--this.users > 0) return;
    this.hooks?.remove(`*.${HOOK_LABEL}`);
    this.hooks = undefined;
  }

  begin(msgid: string, route: Route, handOver: HandOver): void {
    this.journeys.set(msgid, { holders: 0, route, handOver });
  }

  end(msgid: string): void {
    const journey = this.journeys.get(msgid);
    if (!journey) return;
    for (const timer of journey.passers?.values() ?? []) if (timer) clearTimeout(timer);
    this.journeys.delete(msgid);
  }

  /** A message sent on no wire that leads to an `mqtt out`: nobody holds it, it is through. */
  throughIfUnheld(msgid: string): void {
    const journey = this.journeys.get(msgid);
    if (!journey || journey.holders > 0) return;
    this.end(msgid);
    journey.handOver.through();
  }

  private journeyOf(msg: { _msgid?: string } | undefined): Journey | undefined {
    return msg?._msgid === undefined ? undefined : this.journeys.get(msg._msgid);
  }

  private sent(events: SendEvent[]): void {
    const passedOn: Array<[Journey, string, string]> = [];
    for (const event of events) {
      const journey = this.journeyOf(event.msg);
      const destination = event.destination?.id;
      if (!journey || destination === undefined) continue;
      if (journey.route.follows(destination)) {
        journey.holders++;
        if (!journey.route.completes(destination)) (journey.passers ??= new Map()).set(destination, undefined);
      }
      const source = event.source?.id;
      if (source !== undefined && journey.passers?.has(source)) passedOn.push([journey, source, event.msg?._msgid as string]);
    }
    // After the copies handed on are counted: a node that passes a message on lets go of it.
    for (const [journey, source, msgid] of passedOn) this.letGo(journey, source, msgid);
  }

  private received(event: ReceiveEvent): void {
    const journey = this.journeyOf(event.msg);
    const nodeId = event.destination?.id;
    if (!journey?.passers || nodeId === undefined || !journey.passers.has(nodeId) || journey.passers.get(nodeId)) return;
    const msgid = event.msg?._msgid as string;
    const timer = setTimeout(() => this.letGo(journey, nodeId, msgid), PASS_ON_GRACE_MS);
    timer.unref();
    journey.passers.set(nodeId, timer);
  }

  private letGo(journey: Journey, nodeId: string, msgid: string): void {
    if (!journey.passers?.has(nodeId)) return;
    const timer = journey.passers.get(nodeId);
    if (timer) clearTimeout(timer);
    journey.passers.delete(nodeId);
    this.release(journey, msgid);
  }

  private completed(event: CompleteEvent): void {
    const msgid = event.msg?._msgid;
    const journey = this.journeyOf(event.msg);
    if (!journey || msgid === undefined || !journey.route.follows(event.node.id)) return;
    // A broker that refused the message is worth another try; another node's error is the flow's
    // own verdict on it, which trying again would not change.
    if (event.error && event.node.node?.type === 'mqtt out') journey.failure ??= event.error;
    this.release(journey, msgid);
  }

  private release(journey: Journey, msgid: string): void {
    if (--journey.holders > 0) return;
    this.end(msgid);
    journey.handOver.through(journey.failure);
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
  private readonly hooks?: Hooks;
  /** Hand-overs whose messages are on their way. */
  private readonly handOvers = new Set<HandOver>();
  /** One look at the deadlines a second while messages are on their way (not a timer per message). */
  private sweeper?: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly node: Node,
    private readonly downstream: Downstream,
    hooks: Hooks | undefined,
    private readonly ackTimeoutMs = ACK_TIMEOUT_MS,
    /** Whether the messages of one hand-over leave each broker connection in one write (see broker-writes.ts). */
    private readonly oneWrite = false,
  ) {
    if (hooks) {
      this.hooks = hooks;
      journeys.attach(hooks);
    }
  }

  /** Whether every `mqtt out` node downstream is connected (else Node-RED would drop messages). */
  connected(): boolean {
    return this.downstream.connected();
  }

  /** Sends the messages; resolves when every one is through, rejects with the first failure. */
  deliver(messages: OutMessage[]): Promise<void> {
    if (this.closed) return Promise.reject(new Error('closed'));
    const sends: Array<Array<NodeMessage | null>> = [];
    const followed: string[] = [];
    for (const message of messages) {
      const msg = toNodeMessage(message, this.downstream.publishesText(message.output));
      msg._msgid = randomId();
      const ports: Array<NodeMessage | null> = [null, null, null];
      ports[message.output] = msg;
      sends.push(ports);
      if (this.hooks) followed.push(msg._msgid);
      if (message.output === Output.Action) actionBus.publish({ sourceNodeId: this.node.id, message });
    }
    const through = followed.length === 0 ? Promise.resolve() : this.follow(followed);
    // One send() per message, in order (state, values, actions, notices): Node-RED deep-clones every
    // message of a send() but its first, and each of these is a copy of its own already.
    const send = () => {
      for (const ports of sends) this.node.send(ports);
    };
    if (this.oneWrite) oneWriteFor(this.downstream.brokerStreams(), send);
    else send();
    // Sent on no wire that leads to an mqtt out: nobody holds it, it is through.
    for (const msgid of followed) journeys.throughIfUnheld(msgid);
    return through;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const handOver of [...this.handOvers]) handOver.fail(new Error('closed'));
    if (this.sweeper) clearInterval(this.sweeper);
    if (this.hooks) journeys.detach();
  }

  /** Follows a hand-over's messages: resolves when all are through, rejects at the first failure or when one is late. */
  private follow(msgids: string[]): Promise<void> {
    return new Promise((resolve, reject) => {
      const handOver = new HandOver(msgids, Date.now() + this.ackTimeoutMs, resolve, reject, (settled) => this.handOvers.delete(settled));
      this.handOvers.add(handOver);
      for (const msgid of msgids) journeys.begin(msgid, this.downstream, handOver);
      this.sweeper ??= setInterval(() => this.sweep(), Math.min(1000, this.ackTimeoutMs)).unref();
    });
  }

  private sweep(): void {
    const now = Date.now();
    for (const handOver of [...this.handOvers]) {
      if (handOver.deadline <= now) handOver.fail(new DeliveryTimeout(errorText('notCompletedInTime', { ms: this.ackTimeoutMs })));
    }
    if (this.handOvers.size === 0 && this.sweeper) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
  }
}
