import { messageMeta, type OutMessage } from '../engine/messages';
import type { NodeMessage } from './node-red';

/**
 * Node-RED message for an outgoing message; payloads are copied so no flow can touch a chart's state
 * (parsed from their JSON when it was made already: cheaper than a structured clone). With `asText`
 * (the message goes only to `mqtt out` nodes, see Downstream.publishesText) an object payload whose
 * JSON is known is that JSON text: what `mqtt out` would have made of the object.
 */
export function toNodeMessage(message: OutMessage, asText = false): NodeMessage {
  return {
    topic: message.topic,
    payload: payloadFor(message, asText),
    retain: message.retain,
    qos: 1,
    chartId: message.xstate.chartId,
    xstate: messageMeta(message.xstate, message.xstate.id),
  };
}

function payloadFor({ payload, payloadJson }: OutMessage, asText: boolean): unknown {
  if (typeof payload !== 'object' || payload === null) return payload;
  if (payloadJson === undefined) return structuredClone(payload);
  return asText ? payloadJson : JSON.parse(payloadJson);
}
