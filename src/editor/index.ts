/**
 * The machine diagram for the editor, built as a browser bundle of its own
 * (`resources/xstate-diagram.js`, served by Node-RED at
 * `resources/node-red-contrib-xstate-durable/xstate-diagram.js`) that defines `window.XStateDiagram`.
 */
export { graphModel, activePaths, formatDelay, delayLabel } from './model';
export type { DiagramModel, DiagramState, DiagramTransition, DiagramTarget, StateKind } from './model';
