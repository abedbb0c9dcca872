/**
 * The machine diagram for the editor, built as a browser bundle of its own
 * (`resources/xstate-diagram.js`, served by Node-RED at
 * `resources/node-red-contrib-xstate-durable/xstate-diagram.js`) that defines `window.XStateDiagram`:
 *
 *   const diagram = await XStateDiagram.render(container, definition);
 *   diagram.setActive({ Negotiate: 'Propose' });
 *   diagram.destroy();
 *
 * `definition` is the machine config as an object or as JSON text; whatever of it can be read is drawn.
 * The SVG comes at its natural size (`width`, `height` and a `viewBox`): put it in a scrolling
 * container, or scale it with CSS.
 */
import ELK from 'elkjs/lib/elk.bundled.js';
import type { ELK as ElkApi, ElkNode } from 'elkjs/lib/elk-api';
import { elkGraph, readLayout, type Direction } from './layout';
import { activePaths, graphModel, type DiagramModel } from './model';
import { drawDiagram, textMeasure } from './svg';

export { graphModel, activePaths, formatDelay, delayLabel } from './model';
export type { DiagramModel, DiagramState, DiagramTransition, DiagramTarget, StateKind } from './model';

export interface RenderOptions {
  /** The direction transitions mostly flow: `RIGHT` (default) or `DOWN` (see `Direction`). */
  direction?: Direction;
  /** A state value to mark active at once (see `setActive`). */
  active?: unknown;
  /** ELK layout options for the whole graph, over the diagram's own (`elk.spacing.nodeNode` ...). */
  layoutOptions?: Record<string, string>;
}

export interface DiagramHandle {
  svg: SVGSVGElement;
  model: DiagramModel;
  /**
   * Marks the states of a state value (`"Idle"`, `{ "Negotiate": "Propose" }`, parallel objects) and
   * the root with the class `active`, and clears it from every other state. No relayout.
   */
  setActive(value: unknown): void;
  /** Removes the diagram from the page. */
  destroy(): void;
}

let elk: ElkApi | undefined;
/** Renders started per container: a slower, older render never replaces a newer one. */
const generations = new WeakMap<Element, number>();

/**
 * Lays out and draws `definition` into `container`, replacing the diagram drawn there before.
 * Resolves with a handle; when a newer render into the same container started meanwhile, the handle's
 * SVG is left detached.
 */
export async function render(container: Element, definition: unknown, options: RenderOptions = {}): Promise<DiagramHandle> {
  const generation = (generations.get(container) ?? 0) + 1;
  generations.set(container, generation);
  const doc = container.ownerDocument;
  const model = graphModel(definition);
  const { measure, dispose } = textMeasure(doc);
  let graph: ElkNode;
  let statesOnly: ElkNode;
  try {
    graph = elkGraph(model, measure, options.direction, options.layoutOptions);
    // ELK's hierarchical mode has failures of its own: then the states alone, with the diagram's own
    // layout options, still make a diagram.
    const again = elkGraph(model, measure, options.direction);
    statesOnly = { ...again, edges: [], children: again.children?.slice(0, 1) };
  } finally {
    dispose();
  }
  elk ??= new ELK();
  let laidOut: ElkNode;
  let failed = false;
  try {
    laidOut = await elk.layout(graph);
  } catch (err) {
    console.warn('xstate-diagram: the layout failed; drawing the states without transitions.', err);
    failed = true;
    laidOut = await elk.layout(statesOnly);
  }
  const svg = drawDiagram(doc, model, readLayout(model, laidOut));
  if (failed) svg.classList.add('xstate-layout-failed');
  const handle: DiagramHandle = {
    svg,
    model,
    setActive(value) {
      const active = activePaths(model, value);
      for (const g of Array.from(svg.querySelectorAll('[data-state]'))) g.classList.toggle('active', active.has(g.getAttribute('data-state')!));
    },
    destroy() {
      svg.remove();
    },
  };
  if (options.active !== undefined) handle.setActive(options.active);
  if (generations.get(container) === generation) {
    for (const old of Array.from(container.querySelectorAll(':scope > svg.xstate-diagram'))) old.remove();
    container.appendChild(svg);
  }
  return handle;
}
