/**
 * The diagram model as an ELK graph, and ELK's answer read back as boxes and polylines. States are
 * nested ELK nodes laid out by ELK Layered in one run (`hierarchyHandling: INCLUDE_CHILDREN`), so
 * transitions may cross levels; edge labels are ELK labels, placed by ELK. Every coordinate asked back
 * is global (`json.shapeCoords` / `json.edgeCoords` ROOT), so drawing never has to find an edge's
 * container. ELK itself is passed in: this module only builds and reads JSON.
 */
import type { ElkExtendedEdge, ElkLabel, ElkNode, ElkPoint, ElkPort, LayoutOptions } from 'elkjs/lib/elk-api';
import type { DiagramModel, DiagramState, DiagramTransition } from './model';

export interface Size {
  width: number;
  height: number;
}
export interface Box extends Size {
  x: number;
  y: number;
}
export type Point = ElkPoint;

/** Text measurement: the drawing's fonts, in the drawing's units. */
export type Measure = (text: string, kind: TextKind) => Size;
export type TextKind = 'title' | 'action' | 'label';

export interface LaidOutEdge {
  points: Point[];
  /** The target as written, when it could not be resolved: the edge ends at this placeholder. */
  unresolved?: { text: string; box: Box };
}
export interface LaidOutTransition {
  transition: DiagramTransition;
  edges: LaidOutEdge[];
  label?: Box;
}
export interface LaidOutInitial {
  /** The compound state whose initial state this marks. */
  parent: string;
  dot: Box;
  points: Point[];
}
export interface Layout {
  width: number;
  height: number;
  states: Map<string, Box>;
  initials: LaidOutInitial[];
  transitions: LaidOutTransition[];
}

/**
 * The way transitions mostly flow. RIGHT is the default: ELK's hierarchical mode is at home there. With
 * DOWN, backward edges that cross levels can come out diagonal and their labels misplaced (seen with
 * elkjs 0.12 on test/fixtures/diagram.js's kitchen chart), though the drawing fits a narrow dialog.
 */
export type Direction = 'DOWN' | 'RIGHT';

/** Sizes of the drawing, shared with the SVG code so that what ELK reserved is what gets drawn. */
export const metrics = {
  padX: 12,
  titleHeight: 26,
  actionLine: 15,
  atomicMinWidth: 64,
  atomicHeight: 30,
  finalRing: 4,
  history: 30,
  initialDot: 12,
  labelPadX: 4,
  labelPadY: 2,
  compoundPad: 14,
};

const stateNodeId = (path: string) => `s:${path}`;
const initialNodeId = (path: string) => `i:${path}`;

/** Entry and exit lines of a state box, as statecharts write them. */
export function actionLines(state: DiagramState): string[] {
  return [...(state.entry.length ? [`entry / ${state.entry.join(', ')}`] : []), ...(state.exit.length ? [`exit / ${state.exit.join(', ')}`] : [])];
}

function isContainer(state: DiagramState): boolean {
  return state.children.length > 0;
}

/** The ELK graph for a model; node and edge ids map back through `readLayout`. */
export function elkGraph(model: DiagramModel, measure: Measure, direction: Direction = 'RIGHT', overrides: LayoutOptions = {}): ElkNode {
  // ELK Layered reads these per nested graph, from the node that holds it, even in one hierarchical
  // run: they go on the root and on every compound state. Depth-first cycle breaking starts from the
  // initial dots, so a chart reads from its initial state on (the default greedy one may put the
  // initial state last). Any `considerModelOrder` strategy makes ELK 0.12 fail on nested graphs.
  const graphOptions: LayoutOptions = {
    'elk.direction': direction,
    'elk.edgeRouting': 'ORTHOGONAL',
    'elk.edgeLabels.placement': 'CENTER',
    'elk.spacing.nodeNode': '24',
    'elk.spacing.edgeLabel': '3',
    'elk.spacing.edgeNode': '12',
    'elk.spacing.edgeEdge': '10',
    'elk.layered.spacing.nodeNodeBetweenLayers': '28',
    'elk.layered.spacing.edgeNodeBetweenLayers': '14',
    'elk.layered.spacing.edgeEdgeBetweenLayers': '10',
    'elk.layered.cycleBreaking.strategy': 'DEPTH_FIRST',
    'elk.layered.nodePlacement.strategy': 'BRANDES_KOEPF',
    ...overrides,
  };
  const byPath = new Map(model.states.map((state) => [state.path, state]));
  const textWidth = (state: DiagramState) =>
    Math.max(measure(state.key, 'title').width, ...actionLines(state).map((line) => measure(line, 'action').width));

  const edges: ElkExtendedEdge[] = [];
  const placeholders: ElkNode[] = [];
  const inwardPorts = new Map<string, ElkPort[]>();
  for (const state of model.states) {
    if (state.initial !== undefined) {
      edges.push({ id: initialNodeId(state.path), sources: [initialNodeId(state.path)], targets: [stateNodeId(state.initial)] });
    }
  }
  for (const transition of model.transitions) {
    const label = measure(transition.label, 'label');
    const labels: ElkLabel[] = [
      {
        text: transition.label,
        width: Math.ceil(label.width + 2 * metrics.labelPadX),
        height: Math.ceil(label.height + 2 * metrics.labelPadY),
        // A centre label is a node of its own in ELK Layered: it would push the first target one layer
        // further than the others (parallel regions end up stacked). A fork is labelled at its start.
        ...(transition.targets.length > 1 ? { layoutOptions: { 'elk.edgeLabels.placement': 'TAIL' } } : {}),
      },
    ];
    const targets = transition.targets.length ? transition.targets : [{ text: '', path: transition.source }];
    targets.forEach((target, index) => {
      let targetId: string;
      if (target.path === null) {
        targetId = `u:${transition.id}:${index}`;
        const size = measure(target.text, 'label');
        placeholders.push({ id: targetId, width: Math.ceil(size.width + 2 * metrics.labelPadX), height: Math.ceil(size.height + 2 * metrics.labelPadY) });
      } else {
        targetId = stateNodeId(target.path);
      }
      // A transition into the source's own descendants leaves from the source's border on the side
      // transitions come in: drawn from the far side, ELK would stack the children (and parallel
      // regions) behind each other.
      let sourceId = stateNodeId(transition.source);
      if (target.path !== null && target.path !== transition.source && (transition.source === '' || target.path.startsWith(`${transition.source}.`))) {
        sourceId = `p:${transition.id}:${index}`;
        const ports = inwardPorts.get(transition.source) ?? [];
        ports.push({ id: sourceId, width: 0, height: 0, layoutOptions: { 'elk.port.side': direction === 'DOWN' ? 'NORTH' : 'WEST' } });
        inwardPorts.set(transition.source, ports);
      }
      edges.push({
        id: `${transition.id}:${index}`,
        sources: [sourceId],
        targets: [targetId],
        ...(index === 0 ? { labels } : {}),
      });
    });
  }

  const node = (state: DiagramState): ElkNode => {
    const lines = actionLines(state).length * metrics.actionLine;
    if (state.kind === 'history') return { id: stateNodeId(state.path), width: metrics.history, height: metrics.history };
    if (!isContainer(state)) {
      const ring = state.kind === 'final' ? 2 * metrics.finalRing : 0;
      return {
        id: stateNodeId(state.path),
        width: Math.ceil(Math.max(metrics.atomicMinWidth, textWidth(state) + 2 * metrics.padX) + ring),
        height: metrics.atomicHeight + lines + ring,
      };
    }
    const children: ElkNode[] = [];
    if (state.initial !== undefined) {
      children.push({
        id: initialNodeId(state.path),
        width: metrics.initialDot,
        height: metrics.initialDot,
        layoutOptions: { 'elk.layered.layering.layerConstraint': 'FIRST' },
      });
    }
    for (const child of state.children) children.push(node(byPath.get(child)!));
    const pad = metrics.compoundPad;
    const ports = inwardPorts.get(state.path);
    return {
      id: stateNodeId(state.path),
      children,
      ...(ports ? { ports } : {}),
      layoutOptions: {
        ...graphOptions,
        ...(ports ? { 'elk.portConstraints': 'FIXED_SIDE' } : {}),
        'elk.padding': `[top=${metrics.titleHeight + lines + 6},left=${pad},bottom=${pad},right=${pad}]`,
        'elk.nodeSize.constraints': 'MINIMUM_SIZE',
        'elk.nodeSize.minimum': `(${Math.ceil(textWidth(state) + 2 * metrics.padX)}, ${metrics.titleHeight + lines + 20})`,
      },
    };
  };

  const root = byPath.get('')!;
  const layoutOptions: LayoutOptions = {
    'elk.algorithm': 'layered',
    'elk.hierarchyHandling': 'INCLUDE_CHILDREN',
    'elk.json.shapeCoords': 'ROOT',
    'elk.json.edgeCoords': 'ROOT',
    'elk.padding': '[top=8,left=8,bottom=8,right=8]',
    ...graphOptions,
  };
  return { id: 'graph', layoutOptions, children: [node(root), ...placeholders], edges };
}

function boxOf(shape: { x?: number; y?: number; width?: number; height?: number }): Box {
  return { x: shape.x ?? 0, y: shape.y ?? 0, width: shape.width ?? 0, height: shape.height ?? 0 };
}

/**
 * ELK's orthogonal routes of edges that cross hierarchy levels sometimes hold a diagonal segment
 * (eclipse-elk/elk#1128, "wontfix": INCLUDE_CHILDREN is the part the ELK team calls unstable). Each
 * one becomes an elbow that first continues the previous segment's orientation.
 */
export function orthogonal(points: Point[]): Point[] {
  const result: Point[] = [];
  const straight = (a: Point, b: Point) => Math.abs(a.x - b.x) < 0.5 || Math.abs(a.y - b.y) < 0.5;
  for (const point of points) {
    const last = result[result.length - 1];
    if (last && last.x === point.x && last.y === point.y) continue;
    if (last && !straight(last, point)) {
      const before = result[result.length - 2];
      const horizontalFirst = before ? Math.abs(before.y - last.y) < 0.5 : Math.abs(point.x - last.x) > Math.abs(point.y - last.y);
      result.push(horizontalFirst ? { x: point.x, y: last.y } : { x: last.x, y: point.y });
    }
    result.push(point);
  }
  return result;
}

/** Reads ELK's answer for `elkGraph(model)` back as the boxes and lines the SVG draws. */
export function readLayout(model: DiagramModel, laidOut: ElkNode): Layout {
  const shapes = new Map<string, ElkNode>();
  const collect = (node: ElkNode) => {
    shapes.set(node.id, node);
    for (const child of node.children ?? []) collect(child);
  };
  collect(laidOut);
  const edges = new Map((laidOut.edges ?? []).map((edge) => [edge.id, edge]));
  const pointsOf = (id: string): Point[] => {
    const sections = edges.get(id)?.sections ?? [];
    return orthogonal(sections.flatMap((section) => [section.startPoint, ...(section.bendPoints ?? []), section.endPoint]));
  };

  const states = new Map<string, Box>();
  for (const state of model.states) {
    const shape = shapes.get(stateNodeId(state.path));
    if (shape) states.set(state.path, boxOf(shape));
  }
  const initials: LaidOutInitial[] = [];
  for (const state of model.states) {
    if (state.initial === undefined) continue;
    const dot = shapes.get(initialNodeId(state.path));
    if (dot) initials.push({ parent: state.path, dot: boxOf(dot), points: pointsOf(initialNodeId(state.path)) });
  }
  const transitions = model.transitions.map((transition): LaidOutTransition => {
    const count = Math.max(1, transition.targets.length);
    const laid: LaidOutTransition = { transition, edges: [] };
    for (let index = 0; index < count; index++) {
      const target = transition.targets[index];
      const edge: LaidOutEdge = { points: pointsOf(`${transition.id}:${index}`) };
      const placeholder = shapes.get(`u:${transition.id}:${index}`);
      if (target && target.path === null && placeholder) edge.unresolved = { text: target.text, box: boxOf(placeholder) };
      laid.edges.push(edge);
    }
    const label = edges.get(`${transition.id}:0`)?.labels?.[0];
    if (label) laid.label = boxOf(label);
    return laid;
  });
  return { width: laidOut.width ?? 0, height: laidOut.height ?? 0, states, initials, transitions };
}
