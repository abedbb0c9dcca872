import type { OutMessage } from '../engine/messages';

export interface DeliveredAction {
  /** Node id of the `xstate-chart` node whose chart produced the action. */
  sourceNodeId: string;
  message: OutMessage;
}

type Handler = (action: DeliveredAction) => void;

interface Subscription {
  action: string;
  sourceNodeId?: string;
  handler: Handler;
}

/**
 * Hands committed external actions to `xstate-action` nodes in this process. A subscription names
 * one action type or `*`, and optionally one chart node.
 */
export class ActionBus {
  private readonly subscriptions = new Set<Subscription>();

  subscribe(action: string, sourceNodeId: string | undefined, handler: Handler): () => void {
    const subscription: Subscription = { action: action || '*', sourceNodeId: sourceNodeId || undefined, handler };
    this.subscriptions.add(subscription);
    return () => this.subscriptions.delete(subscription);
  }

  publish(delivered: DeliveredAction): number {
    const type = (delivered.message.payload as { type: string }).type;
    let handled = 0;
    for (const sub of this.subscriptions) {
      if (sub.action !== '*' && sub.action !== type) continue;
      if (sub.sourceNodeId && sub.sourceNodeId !== delivered.sourceNodeId) continue;
      sub.handler(delivered);
      handled++;
    }
    return handled;
  }
}

/** The process-wide bus: every node module of this package shares the one bundle that holds it. */
export const actionBus = new ActionBus();
