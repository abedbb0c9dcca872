import * as path from 'node:path';
import { ChartStore, type Backend } from '../store/chart-store';
import { DEFAULT_RETRY, type RetryPolicy } from '../store/retry';
import { messageOf } from '../engine/errors';
import { substituteEnv } from './env';
import { registerStoreEndpoints } from './admin-api';
import { runtimeText } from './i18n';
import type { Node, NodeAPI } from './node-red';

export interface StoreConfig {
  name?: string;
  backend?: 'auto' | Backend;
  connection?: string;
  schema?: string;
  dataDir?: string;
  /** Transitions kept per chart for the editor's sidebar (default 20; 0 keeps none). */
  transitionLog?: number | string;
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

/** The `transitionLog` property: a whole number ≥ 0; empty or unreadable is the default. */
function transitionLogOf(value: StoreConfig['transitionLog']): number | undefined {
  if (value === undefined || value === '') return undefined;
  const kept = Number(value);
  return Number.isInteger(kept) && kept >= 0 ? kept : undefined;
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
    transitionsKept: transitionLogOf(config.transitionLog),
  });
}

export default function registerStoreNode(RED: NodeAPI): void {
  function XStateStoreNode(this: StoreNode, config: StoreConfig) {
    RED.nodes.createNode(this, config);
    const node = this;
    const text = runtimeText(RED, 'xstate-store');
    try {
      // Retry bounds: settings.js `xstate: { retry: { attempts, initialDelayMs, maxDelayMs, totalMs } }`.
      const retry = (RED.settings.xstate as { retry?: Partial<RetryPolicy> } | undefined)?.retry;
      node.store = createStore(config, node.credentials ?? {}, RED.settings.userDir ?? process.cwd(), retry);
      node.store.on('status', (status) => {
        if (status.state === 'retrying' || status.state === 'error') node.warn(text('trouble', { message: status.message }));
      });
      node.store.on('commit-unprepared', (err: Error) => node.warn(text('unprepared', { message: err.message })));
    } catch (err) {
      node.configError = messageOf(err);
      node.error(node.configError);
    }
    node.on('close', (_removed: boolean, done: () => void) => {
      if (!node.store) return done();
      node.store.close().then(done, (err) => {
        node.warn(text('closingFailed', { message: messageOf(err) }));
        done();
      });
    });
  }
  RED.nodes.registerType('xstate-store', XStateStoreNode as never, {
    credentials: { user: { type: 'text' }, password: { type: 'password' } },
  });
  registerStoreEndpoints(RED);
}
