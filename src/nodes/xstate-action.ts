import { actionBus } from '../runtime/action-bus';
import type { Node, NodeAPI } from './node-red';
import { toNodeMessage } from './node-messages';
import { runtimeText } from './i18n';

export interface ActionConfig {
  name?: string;
  action?: string;
  chart?: string;
}

/**
 * Starts a flow for each committed external action of one type (or all, `*`), optionally of one
 * chart node. It has no input: actions reach it only after the state that produced them committed.
 */
export default function registerActionNode(RED: NodeAPI): void {
  function XStateActionNode(this: Node, config: ActionConfig) {
    RED.nodes.createNode(this, config);
    const node = this;
    const text = runtimeText(RED, 'xstate-action');
    const action = (config.action ?? '').trim() || '*';
    let handled = 0;
    const unsubscribe = actionBus.subscribe(action, config.chart, ({ message }) => {
      handled++;
      node.send(toNodeMessage(message));
      node.status({ fill: 'green', shape: 'dot', text: text('handled', { n: handled, action: action === '*' ? text('anyAction') : action, chartId: message.xstate.chartId }) });
    });
    node.status({ fill: 'grey', shape: 'ring', text: action === '*' ? text('waitingAny') : text('waiting', { action }) });
    node.on('close', (_removed: boolean, done: () => void) => {
      unsubscribe();
      done();
    });
  }
  RED.nodes.registerType('xstate-action', XStateActionNode as never);
}
