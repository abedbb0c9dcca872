/**
 * The parts of the Node-RED 4.x/5.x runtime API this package uses. `@types/node-red` describes
 * Node-RED 1.3, so these are typed here from the runtime's own source.
 */
export interface NodeStatus {
  fill?: 'red' | 'green' | 'yellow' | 'blue' | 'grey';
  shape?: 'ring' | 'dot';
  text?: string;
}

export interface NodeMessage {
  _msgid?: string;
  topic?: string;
  payload?: unknown;
  [key: string]: unknown;
}

export type SendFunction = (msg: NodeMessage | Array<NodeMessage | NodeMessage[] | null>) => void;
export type DoneFunction = (err?: Error) => void;

export interface Node<TCredentials = Record<string, string | undefined>> {
  id: string;
  type: string;
  name?: string;
  credentials: TCredentials;
  on(event: 'input', listener: (msg: NodeMessage, send: SendFunction, done: DoneFunction) => void): void;
  /** Node-RED passes `done` only when the listener declares exactly two parameters. */
  on(event: 'close', listener: (removed: boolean, done: () => void) => void): void;
  send: SendFunction;
  status(status: NodeStatus | Record<string, never>): void;
  log(msg: unknown): void;
  debug?(msg: unknown): void;
  warn(msg: unknown): void;
  error(err: unknown, msg?: NodeMessage): void;
}

export interface NodeAPI {
  /** A text of a message catalog (`namespace:key`), with `__name__` placeholders filled. */
  _(key: string, values?: Record<string, unknown>): string;
  nodes: {
    createNode(node: object, config: object): void;
    getNode(id: string): unknown;
    registerType(type: string, constructor: (this: never, config: never) => void, options?: { credentials?: Record<string, { type: 'text' | 'password' }> }): void;
  };
  settings: { userDir?: string; [key: string]: unknown };
  util: {
    /** A node's environment variable (flow, group, global env and process.env). */
    getSetting(node: unknown, name: string): unknown;
  };
  httpAdmin: {
    get(path: string, ...handlers: RequestHandler[]): void;
    post(path: string, ...handlers: RequestHandler[]): void;
    delete(path: string, ...handlers: RequestHandler[]): void;
  };
  /** Messages to the editors (Node-RED's comms): what the sidebar listens to. */
  comms?: { publish(topic: string, data: unknown, retain?: boolean): void };
  auth: { needsPermission(permission: string): RequestHandler };
  /** Runtime hooks (Node-RED 2+); absent in some test runtimes. */
  hooks?: {
    add(name: string, handler: (event: never) => void): void;
    remove(name: string): void;
  };
}

export interface HttpRequest {
  params: Record<string, string>;
  query: Record<string, unknown>;
  body: unknown;
}

export interface HttpResponse {
  status(code: number): HttpResponse;
  json(body: unknown): void;
}

export type RequestHandler = (req: HttpRequest, res: HttpResponse, next: () => void) => void;
