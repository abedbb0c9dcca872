import type { OutMessage } from '../engine/messages';
import type { NodeMessage } from './node-red';

/** Node-RED message for an outgoing message; payloads are copied so no flow can touch a chart's state. */
export function toNodeMessage(message: OutMessage): NodeMessage {
  return {
    topic: message.topic,
    payload: typeof message.payload === 'object' ? structuredClone(message.payload) : message.payload,
    retain: message.retain,
    qos: 1,
    chartId: message.xstate.chartId,
    xstate: { ...message.xstate },
  };
}
