import { randomUUID } from 'node:crypto';
import { Output, type OutMessage } from '../engine/messages';
import { actionBus } from '../runtime/action-bus';
import type { Node, NodeMessage } from './node-red';
import { toNodeMessage } from './node-messages';
import { allConnected } from './downstream';

interface WiredNode {
  id: string;
  type: string;
  brokerConn?: { connected?: boolean } | null;
}

interface CompleteEvent {
  msg: { _msgid?: string };
  error?: unknown;
  node: { id: string };
}

export interface Hooks {
  add(name: string, handler: (event: CompleteEvent) => void): void;
  remove(name: string): void;
}

const ACK_TIMEOUT_MS = 30000;

/**
 * Sends a transition's messages from a chart node and tells when they are delivered: a message
 * whose output leads to `mqtt out` nodes is delivered when one of them completes it (for QoS 1,
 * when the broker acknowledged it), seen through Node-RED's `onComplete` hook; other messages are
 * delivered once handed over. Without hooks (an old or embedded runtime) handing over counts.
 */
export class Delivery {
  private readonly pending = new Map<string, { resolve: () => void; reject: (err: unknown) => void }>();
  private readonly hookName: string;
  private readonly hooks?: Hooks;
  private readonly mqttOutIds: Set<string>;

  constructor(
    private readonly node: Node,
    private readonly byOutput: WiredNode[][],
    hooks: Hooks | undefined,
  ) {
    this.mqttOutIds = new Set(byOutput.flat().map((n) => n.id));
    this.hookName = `onComplete.xstate-${node.id.replace(/[^A-Za-z0-9_-]/g, '_')}`;
    if (hooks && this.mqttOutIds.size > 0) {
      this.hooks = hooks;
      hooks.add(this.hookName, (event) => this.completed(event));
    }
  }

  /** Whether every `mqtt out` node downstream is connected (else Node-RED would drop messages). */
  connected(): boolean {
    return allConnected(this.byOutput.flat());
  }

  deliver(messages: OutMessage[]): Promise<void> {
    const outputs: NodeMessage[][] = [[], [], []];
    const acknowledged: Array<Promise<void>> = [];
    for (const message of messages) {
      const msg = toNodeMessage(message);
      msg._msgid = randomUUID();
      outputs[message.output].push(msg);
      if (this.hooks && (this.byOutput[message.output]?.length ?? 0) > 0) acknowledged.push(this.ack(msg._msgid));
      if (message.output === Output.Action) actionBus.publish({ sourceNodeId: this.node.id, message });
    }
    this.node.send(outputs.map((list) => (list.length === 0 ? null : list)));
    return Promise.all(acknowledged).then(() => {});
  }

  close(): void {
    this.hooks?.remove(this.hookName);
    for (const waiter of this.pending.values()) waiter.reject(new Error('closed'));
    this.pending.clear();
  }

  private ack(msgid: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(msgid);
        reject(new Error('not acknowledged in time'));
      }, ACK_TIMEOUT_MS);
      timer.unref();
      this.pending.set(msgid, {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      });
    });
  }

  private completed(event: CompleteEvent): void {
    const msgid = event.msg?._msgid;
    if (!msgid || !this.mqttOutIds.has(event.node.id)) return;
    const waiter = this.pending.get(msgid);
    if (!waiter) return;
    this.pending.delete(msgid);
    if (event.error) waiter.reject(event.error);
    else waiter.resolve();
  }
}
