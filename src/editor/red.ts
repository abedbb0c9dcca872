/**
 * The parts of the Node-RED editor's globals (`RED`, jQuery's `$`) that the editor code uses, and the
 * package's own names in it: the message catalog's namespace and where the diagram bundle is served.
 */

export interface EditorNode {
  id: string;
  type: string;
  z?: string;
  name?: string;
  d?: boolean;
  _def?: { label?: string | ((this: EditorNode) => string) };
  [property: string]: unknown;
}

/** Ace's editor, or Node-RED's monaco editor, which answers part of ace's API. */
export interface CodeEditor {
  getValue(): string;
  on(event: string, handler: () => void): void;
  getSession?(): { setAnnotations?(annotations: unknown[]): void; getAnnotations?(): unknown[] };
  /** monaco only */
  getModel?(): unknown;
  deltaDecorations?(old: string[], decorations: unknown[]): string[];
}

export interface Notification {
  close(): void;
}

export interface RedApi {
  _(key: string, substitutions?: Record<string, unknown>): string;
  nodes: {
    node(id: string): EditorNode | null;
    eachNode(callback: (node: EditorNode) => boolean | void): void;
    workspace(id: string): { id: string; label?: string; disabled?: boolean } | null;
    subflow(id: string): { id: string; name?: string } | null;
  };
  sidebar: {
    addTab(options: Record<string, unknown>): void;
    show(id: string): void;
  };
  comms: {
    subscribe(topic: string, handler: (topic: string, data: unknown) => void): void;
    unsubscribe(topic: string, handler: (topic: string, data: unknown) => void): void;
  };
  events: { on(event: string, handler: (...args: unknown[]) => void): void };
  user?: { hasPermission(permission: string): boolean };
  notify(message: string | HTMLElement | JQueryLike, options?: Record<string, unknown> | string, fixed?: boolean, timeout?: number): Notification;
  utils?: { createObjectElement?(value: unknown, options?: Record<string, unknown>): JQueryLike };
  actions?: { add(name: string, handler: () => void): void };
  panels?: { create(options: Record<string, unknown>): { ratio(value?: number): number; resize(size: number): void } };
}

/** The little of a jQuery object this code touches. */
export interface JQueryLike {
  [index: number]: HTMLElement;
  length: number;
}

export interface AjaxSettings {
  url: string;
  method: string;
  dataType?: string;
  contentType?: string;
  data?: string;
  timeout?: number;
}

export interface AjaxXhr {
  status: number;
  responseJSON?: unknown;
  responseText?: string;
  statusText?: string;
}

export interface JQueryStatic {
  (selector: string | HTMLElement, attributes?: Record<string, unknown>): JQueryLike;
  ajax(settings: AjaxSettings): {
    done(callback: (data: unknown) => void): { fail(callback: (xhr: AjaxXhr, status: string) => void): void };
  };
}

/** `window` of the Node-RED editor. */
export interface EditorWindow extends Window {
  RED: RedApi;
  $: JQueryStatic;
  monaco?: { editor: { setModelMarkers(model: unknown, owner: string, markers: unknown[]): void; getModelMarkers(filter: Record<string, unknown>): unknown[] } };
  XStateDiagram?: DiagramLib;
}

/** The diagram bundle's API (`src/editor/index.ts`), as loaded in the page. */
export interface DiagramLib {
  render(container: Element, definition: unknown, options?: { active?: unknown; direction?: 'RIGHT' | 'DOWN' }): Promise<DiagramHandle>;
}

export interface DiagramHandle {
  svg: SVGSVGElement;
  setActive(value: unknown): void;
  destroy(): void;
}

export const MODULE = 'node-red-contrib-xstate-durable';
/** The message catalog of the chart node's set: `nodes/xstate-chart/locales/{lang}/xstate-chart.json`. */
export const CATALOG = `${MODULE}/xstate-chart`;
export const DIAGRAM_SCRIPT = `resources/${MODULE}/xstate-diagram.js`;

export function editorWindow(): EditorWindow {
  return window as unknown as EditorWindow;
}

/** A message of the chart node's catalog: `t('sidebar.send')` is `xstate-chart.sidebar.send`. */
export function t(key: string, substitutions?: Record<string, unknown>): string {
  return editorWindow().RED._(`${CATALOG}:xstate-chart.${key}`, substitutions);
}

/** `t(key)`, or `fallback` when the catalog has no such message. */
export function translated(key: string, fallback: string): string {
  const text = t(key);
  return text === key || text === `xstate-chart.${key}` || text === `${CATALOG}:xstate-chart.${key}` ? fallback : text;
}

let diagramLoading: Promise<DiagramLib> | undefined;

/**
 * The diagram bundle (1.4 MB with its layout engine), loaded the first time a diagram is drawn rather
 * than with the editor.
 */
export function diagramLib(): Promise<DiagramLib> {
  const win = editorWindow();
  if (win.XStateDiagram) return Promise.resolve(win.XStateDiagram);
  diagramLoading ??= new Promise<DiagramLib>((resolve, reject) => {
    const script = document.createElement('script');
    script.src = DIAGRAM_SCRIPT;
    script.async = true;
    script.onload = () => (win.XStateDiagram ? resolve(win.XStateDiagram) : reject(new Error(`${DIAGRAM_SCRIPT} did not define XStateDiagram`)));
    script.onerror = () => {
      diagramLoading = undefined;
      script.remove();
      reject(new Error(`${DIAGRAM_SCRIPT} could not be loaded`));
    };
    document.head.appendChild(script);
  });
  return diagramLoading;
}

/** An element with a class and optional text, attributes and children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: { class?: string; text?: string; attrs?: Record<string, string> } = {},
  ...children: (Node | null | undefined | false)[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  if (props.class) element.className = props.class;
  if (props.text !== undefined) element.textContent = props.text;
  for (const [name, value] of Object.entries(props.attrs ?? {})) element.setAttribute(name, value);
  for (const child of children) if (child) element.appendChild(child);
  return element;
}
