import * as path from 'node:path';
import { ChartStore, type Backend } from '../store/chart-store';
import { messageOf } from '../engine/errors';
import { substituteEnv } from './env';
import type { Node, NodeAPI } from './node-red';

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

export function createStore(config: StoreConfig, credentials: StoreCredentials, userDir: string): ChartStore {
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
  });
}

export default function registerStoreNode(RED: NodeAPI): void {
  function XStateStoreNode(this: StoreNode, config: StoreConfig) {
    RED.nodes.createNode(this, config);
    const node = this;
    try {
      node.store = createStore(config, node.credentials ?? {}, RED.settings.userDir ?? process.cwd());
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
}
