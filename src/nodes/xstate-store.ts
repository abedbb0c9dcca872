import * as path from 'node:path';
import { ChartStore, type Backend } from '../store/chart-store';
import { DEFAULT_RETRY, type RetryPolicy } from '../store/retry';
import { ChartError, messageOf } from '../engine/errors';
import { ANY_IMPLEMENTATIONS, parseDefinition } from '../engine/definition';
import { digestOf } from '../engine/machine';
import { substituteEnv } from './env';
import type { HttpResponse, Node, NodeAPI, RequestHandler } from './node-red';

export interface StoreConfig {
  name?: string;
  backend?: 'auto' | Backend;
  connection?: string;
  schema?: string;
  dataDir?: string;
}

interface StoreCredentials {
  user?: string;
  password?: string;
}

export interface StoreNode extends Node<StoreCredentials> {
  /** The store, or undefined when the configuration is unusable (see `configError`). */
  store?: ChartStore;
  configError?: string;
}

/** `auto` is PostgreSQL when a connection string is left after env substitution, else embedded. */
export function resolveBackend(backend: StoreConfig['backend'], connection: string): Backend {
  if (backend === 'postgres' || backend === 'embedded') return backend;
  return connection ? 'postgres' : 'embedded';
}

export function createStore(config: StoreConfig, credentials: StoreCredentials, userDir: string, retry?: Partial<RetryPolicy>): ChartStore {
  const connection = substituteEnv(config.connection);
  const backend = resolveBackend(config.backend, connection);
  const dataDir = substituteEnv(config.dataDir) || 'xstate-data';
  return new ChartStore({
    backend,
    connection,
    user: credentials.user || undefined,
    password: credentials.password || undefined,
    schema: substituteEnv(config.schema) || 'xstate',
    dataDir: path.resolve(userDir, dataDir),
    retry: { ...DEFAULT_RETRY, ...retry },
  });
}

export default function registerStoreNode(RED: NodeAPI): void {
  function XStateStoreNode(this: StoreNode, config: StoreConfig) {
    RED.nodes.createNode(this, config);
    const node = this;
    try {
      // Retry bounds: settings.js `xstate: { retry: { attempts, initialDelayMs, maxDelayMs, totalMs } }`.
      const retry = (RED.settings.xstate as { retry?: Partial<RetryPolicy> } | undefined)?.retry;
      node.store = createStore(config, node.credentials ?? {}, RED.settings.userDir ?? process.cwd(), retry);
      node.store.on('status', (status) => {
        if (status.state === 'retrying' || status.state === 'error') node.warn(`xstate-store: ${status.message}`);
      });
    } catch (err) {
      node.configError = messageOf(err);
      node.error(node.configError);
    }
    node.on('close', (_removed: boolean, done: () => void) => {
      if (!node.store) return done();
      node.store.close().then(done, (err) => {
        node.warn(`xstate-store: closing failed: ${messageOf(err)}`);
        done();
      });
    });
  }
  RED.nodes.registerType('xstate-store', XStateStoreNode as never, {
    credentials: { user: { type: 'text' }, password: { type: 'password' } },
  });
  registerMachineEndpoints(RED);
}

/**
 * Admin HTTP API for the machines of a store, behind Node-RED's admin authentication:
 *   GET  /xstate-store/:id/machines             newest version of every machine   (xstate.read)
 *   GET  /xstate-store/:id/machines/:machineId  newest definition of one machine  (xstate.read)
 *   POST /xstate-store/:id/machines/:machineId  body: the definition; a new version (xstate.write)
 */
function registerMachineEndpoints(RED: NodeAPI): void {
  const withStore = (handler: (store: ChartStore, params: Record<string, string>, body: unknown) => Promise<unknown>): RequestHandler => (req, res) => {
    // Any node can be named by id: only an xstate-store is asked anything.
    const node = RED.nodes.getNode(req.params.id) as StoreNode | null;
    if (node?.type !== 'xstate-store' || !node.store) return reply(res, 404, { error: `no xstate-store with id ${req.params.id}` });
    handler(node.store, req.params, req.body).then(
      (result) => (result === undefined ? reply(res, 404, { error: 'not found' }) : reply(res, 200, result)),
      (err) => reply(res, err instanceof ChartError ? 400 : 503, { error: messageOf(err), code: err instanceof ChartError ? err.code : 'persistence_failed' }),
    );
  };
  RED.httpAdmin.get('/xstate-store/:id/machines', RED.auth.needsPermission('xstate.read'), withStore((store) => store.listMachines()));
  RED.httpAdmin.get('/xstate-store/:id/machines/:machineId', RED.auth.needsPermission('xstate.read'), withStore((store, params) => store.loadMachine(params.machineId)));
  RED.httpAdmin.post(
    '/xstate-store/:id/machines/:machineId',
    RED.auth.needsPermission('xstate.write'),
    withStore(async (store, params, body) => {
      const definition = parseDefinition(body, ANY_IMPLEMENTATIONS);
      if (definition.id !== params.machineId) throw new ChartError('definition_invalid', `The definition's id "${String(definition.id)}" is not "${params.machineId}".`);
      return { machineId: params.machineId, version: await store.registerMachine(params.machineId, definition, digestOf(definition)) };
    }),
  );
}

function reply(res: HttpResponse, status: number, body: unknown): void {
  res.status(status).json(body);
}
