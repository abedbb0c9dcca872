/**
 * Draws a laid-out diagram as SVG: nested `<g data-state>` per state (root `""`), one
 * `<g data-transition="{source}:{event}">` per transition, in the editor's colours (Node-RED's CSS
 * variables, with their default theme's values as fallbacks).
 */
import { actionLines, metrics, type Box, type Layout, type Measure, type Point, type TextKind } from './layout';
import type { DiagramModel, DiagramState } from './model';
import { injectCss } from './inject-css';

const SVG = 'http://www.w3.org/2000/svg';

const FONT = 'var(--red-ui-primary-font, "Helvetica Neue", Arial, Helvetica, sans-serif)';
const TEXT: Record<TextKind, { size: number; weight: string; style: string }> = {
  title: { size: 12, weight: '600', style: 'normal' },
  action: { size: 11, weight: 'normal', style: 'italic' },
  label: { size: 11, weight: 'normal', style: 'normal' },
};

export const STYLE_ID = 'xstate-diagram-style';

/** The diagram's styles; injected once per document. */
export const CSS = `
svg.xstate-diagram { font-family: ${FONT}; overflow: visible; display: block; }
.xstate-diagram text { fill: var(--red-ui-primary-text-color, #555); }
.xstate-diagram .xstate-title { font-size: ${TEXT.title.size}px; font-weight: ${TEXT.title.weight}; }
.xstate-diagram .xstate-action { font-size: ${TEXT.action.size}px; font-style: italic; fill: var(--red-ui-secondary-text-color, #888); }
.xstate-diagram .xstate-label, .xstate-diagram .xstate-unresolved-target { font-size: ${TEXT.label.size}px; }
.xstate-diagram .xstate-shape { fill: var(--red-ui-secondary-background, #fff); stroke: var(--red-ui-node-border, #999); stroke-width: 1; }
.xstate-diagram .xstate-compound > .xstate-shape, .xstate-diagram .xstate-parallel > .xstate-shape { fill: var(--red-ui-primary-background, #f3f3f3); fill-opacity: 0.6; }
.xstate-diagram .xstate-root > .xstate-shape { fill: var(--red-ui-secondary-background, #fff); fill-opacity: 1; }
.xstate-diagram .xstate-region > .xstate-shape { fill: none; stroke-dasharray: 5 3; }
.xstate-diagram .xstate-final > .xstate-shape.xstate-ring { fill: none; }
.xstate-diagram .xstate-history-mark { font-size: 11px; font-weight: 600; }
.xstate-diagram .xstate-initial circle { fill: var(--red-ui-primary-text-color, #555); }
.xstate-diagram .xstate-edge { fill: none; stroke: var(--red-ui-link-color, #999); stroke-width: 1.2; }
.xstate-diagram .xstate-arrowhead { fill: var(--red-ui-link-color, #999); }
.xstate-diagram .xstate-initial .xstate-edge { stroke: var(--red-ui-primary-text-color, #555); }
.xstate-diagram .xstate-initial .xstate-arrowhead, .xstate-diagram .xstate-arrowhead.xstate-dark { fill: var(--red-ui-primary-text-color, #555); }
.xstate-diagram .xstate-label-bg { fill: var(--red-ui-secondary-background, #fff); fill-opacity: 0.85; }
.xstate-diagram .xstate-edge.unresolved { stroke: var(--red-ui-text-color-error, #AD1625); stroke-dasharray: 4 3; }
.xstate-diagram .xstate-arrowhead.unresolved { fill: var(--red-ui-text-color-error, #AD1625); }
.xstate-diagram .unresolved > .xstate-label, .xstate-diagram .xstate-unresolved-target { fill: var(--red-ui-text-color-error, #AD1625); }
.xstate-diagram [data-state].active > .xstate-shape { stroke: var(--red-ui-node-selected-color, #ff7f0e); stroke-width: 2; }
.xstate-diagram [data-state].active:not(.xstate-compound):not(.xstate-parallel) > .xstate-shape:not(.xstate-ring) { fill: var(--red-ui-list-item-background-selected, #ffebc7); }
`;

export function injectStyle(doc: Document): void {
  injectCss(doc, STYLE_ID, CSS);
}

type Attrs = Record<string, string | number>;

function el<K extends keyof SVGElementTagNameMap>(doc: Document, name: K, attrs: Attrs = {}, parent?: Element): SVGElementTagNameMap[K] {
  const node = doc.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  if (parent) parent.appendChild(node);
  return node;
}

function text(doc: Document, parent: Element, content: string, x: number, y: number, className: string, anchor = 'start'): SVGTextElement {
  const node = el(doc, 'text', { x, y, class: className, 'text-anchor': anchor, 'dominant-baseline': 'central' }, parent);
  node.textContent = content;
  return node;
}

/**
 * Measures text with the drawing's own styles, in an off-screen SVG attached to the document (so it
 * works while the diagram's container is still hidden, as in a dialog being opened).
 */
export function textMeasure(doc: Document): { measure: Measure; dispose: () => void } {
  injectStyle(doc);
  const probe = el(doc, 'svg', { class: 'xstate-diagram', width: 0, height: 0, 'aria-hidden': 'true' });
  probe.style.cssText = 'position:absolute;left:-10000px;top:-10000px;visibility:hidden';
  doc.body.appendChild(probe);
  const classes: Record<TextKind, string> = { title: 'xstate-title', action: 'xstate-action', label: 'xstate-label' };
  const cache = new Map<string, { width: number; height: number }>();
  const measure: Measure = (content, kind) => {
    const key = `${kind}\u0000${content}`;
    let size = cache.get(key);
    if (!size) {
      const node = text(doc, probe, content || ' ', 0, 0, classes[kind]);
      const box = node.getBBox();
      // No layout engine (a detached document): an estimate keeps boxes readable.
      size = box.width > 0 ? { width: box.width, height: Math.max(box.height, TEXT[kind].size + 2) } : { width: content.length * TEXT[kind].size * 0.6, height: TEXT[kind].size + 3 };
      node.remove();
      cache.set(key, size);
    }
    return size;
  };
  return { measure, dispose: () => probe.remove() };
}

/** A polyline with slightly rounded corners. */
function pathOf(points: Point[], radius = 5): string {
  if (!points.length) return '';
  let d = `M${points[0].x},${points[0].y}`;
  for (let i = 1; i < points.length; i++) {
    const p = points[i];
    const next = points[i + 1];
    if (!next) {
      d += ` L${p.x},${p.y}`;
      break;
    }
    const prev = points[i - 1];
    const r = Math.min(radius, Math.hypot(p.x - prev.x, p.y - prev.y) / 2, Math.hypot(next.x - p.x, next.y - p.y) / 2);
    const towards = (a: Point, b: Point, length: number) => {
      const total = Math.hypot(b.x - a.x, b.y - a.y) || 1;
      return { x: a.x + ((b.x - a.x) * length) / total, y: a.y + ((b.y - a.y) * length) / total };
    };
    const before = towards(p, prev, r);
    const after = towards(p, next, r);
    d += ` L${before.x},${before.y} Q${p.x},${p.y} ${after.x},${after.y}`;
  }
  return d;
}

let diagrams = 0;

/** The SVG of a laid-out model. */
export function drawDiagram(doc: Document, model: DiagramModel, layout: Layout): SVGSVGElement {
  const uid = `xsd${++diagrams}`;
  const width = Math.ceil(layout.width);
  const height = Math.ceil(layout.height);
  const svg = el(doc, 'svg', { class: 'xstate-diagram', xmlns: SVG, viewBox: `0 0 ${width} ${height}`, width, height, role: 'img' });
  el(doc, 'title', {}, svg).textContent = model.id;
  const defs = el(doc, 'defs', {}, svg);
  const marker = (id: string, className: string) => {
    const m = el(doc, 'marker', { id, viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 9, markerHeight: 9, markerUnits: 'userSpaceOnUse', orient: 'auto-start-reverse' }, defs);
    el(doc, 'path', { d: 'M0,0 L10,5 L0,10 z', class: className }, m);
    return `url(#${id})`;
  };
  const arrow = marker(`${uid}-arrow`, 'xstate-arrowhead');
  const arrowDark = marker(`${uid}-arrow-initial`, 'xstate-arrowhead xstate-dark');
  const arrowUnresolved = marker(`${uid}-arrow-unresolved`, 'xstate-arrowhead unresolved');

  const byPath = new Map(model.states.map((state) => [state.path, state]));
  const groups = new Map<string, SVGGElement>();
  const initials = new Map(layout.initials.map((initial) => [initial.parent, initial]));

  const drawState = (state: DiagramState, parent: Element) => {
    const box = layout.states.get(state.path);
    const container = state.children.length > 0;
    const parentState = state.parent === null ? undefined : byPath.get(state.parent);
    const classes = ['xstate-state', `xstate-${container && state.kind === 'atomic' ? 'compound' : state.kind}`];
    if (state.path === '') classes.push('xstate-root');
    if (parentState?.kind === 'parallel' && state.kind !== 'history') classes.push('xstate-region');
    const g = el(doc, 'g', { 'data-state': state.path, class: classes.join(' ') }, parent);
    groups.set(state.path, g);
    if (!box) return;
    if (state.kind === 'history') {
      const r = Math.min(box.width, box.height) / 2;
      el(doc, 'circle', { cx: box.x + box.width / 2, cy: box.y + box.height / 2, r, class: 'xstate-shape' }, g);
      text(doc, g, state.history === 'deep' ? 'H*' : 'H', box.x + box.width / 2, box.y + box.height / 2, 'xstate-history-mark', 'middle');
      el(doc, 'title', {}, g).textContent = state.key;
      return;
    }
    el(doc, 'rect', { x: box.x, y: box.y, width: box.width, height: box.height, rx: 6, class: 'xstate-shape' }, g);
    let inner: Box = box;
    if (state.kind === 'final') {
      const ring = metrics.finalRing;
      inner = { x: box.x + ring, y: box.y + ring, width: box.width - 2 * ring, height: box.height - 2 * ring };
      el(doc, 'rect', { x: inner.x, y: inner.y, width: inner.width, height: inner.height, rx: 4, class: 'xstate-shape xstate-ring' }, g);
    }
    const lines = actionLines(state);
    if (container) {
      text(doc, g, state.key, box.x + metrics.padX, box.y + metrics.titleHeight / 2 + 1, 'xstate-title');
      lines.forEach((line, i) => text(doc, g, line, box.x + metrics.padX, box.y + metrics.titleHeight + (i + 0.3) * metrics.actionLine, 'xstate-action'));
    } else {
      const top = inner.y + (inner.height - lines.length * metrics.actionLine) / 2;
      const cx = inner.x + inner.width / 2;
      text(doc, g, state.key, cx, lines.length ? inner.y + metrics.atomicHeight / 2 : top, 'xstate-title', 'middle');
      lines.forEach((line, i) => text(doc, g, line, cx, inner.y + metrics.atomicHeight - 4 + (i + 0.5) * metrics.actionLine, 'xstate-action', 'middle'));
    }
    for (const child of state.children) drawState(byPath.get(child)!, g);
    const initial = initials.get(state.path);
    if (initial) {
      const marker = el(doc, 'g', { class: 'xstate-initial' }, g);
      const { dot } = initial;
      el(doc, 'circle', { cx: dot.x + dot.width / 2, cy: dot.y + dot.height / 2, r: dot.width / 2 - 1 }, marker);
      if (initial.points.length) el(doc, 'path', { d: pathOf(initial.points), class: 'xstate-edge', 'marker-end': arrowDark }, marker);
    }
  };
  drawState(byPath.get('')!, svg);

  const transitions = el(doc, 'g', { class: 'xstate-transitions' }, svg);
  for (const { transition, edges, label } of layout.transitions) {
    const unresolved = transition.targets.some((target) => target.path === null);
    const g = el(doc, 'g', { 'data-transition': transition.key, class: `xstate-transition${unresolved ? ' unresolved' : ''}` }, transitions);
    const targets = transition.targets.map((target) => target.text).join(', ');
    el(doc, 'title', {}, g).textContent = [
      `${transition.label}${targets ? ` → ${targets}` : ''}`,
      ...(transition.actions.length ? [`actions: ${transition.actions.join(', ')}`] : []),
    ].join('\n');
    for (const edge of edges) {
      if (!edge.points.length) continue;
      const bad = edge.unresolved !== undefined;
      el(doc, 'path', { d: pathOf(edge.points), class: `xstate-edge${bad ? ' unresolved' : ''}`, 'marker-end': bad ? arrowUnresolved : arrow }, g);
      if (edge.unresolved) {
        const { text: target, box } = edge.unresolved;
        text(doc, g, target, box.x + box.width / 2, box.y + box.height / 2, 'xstate-unresolved-target', 'middle');
      }
    }
    if (label) {
      el(doc, 'rect', { x: label.x, y: label.y, width: label.width, height: label.height, rx: 3, class: 'xstate-label-bg' }, g);
      text(doc, g, transition.label, label.x + label.width / 2, label.y + label.height / 2, 'xstate-label', 'middle');
    }
  }
  return svg;
}
