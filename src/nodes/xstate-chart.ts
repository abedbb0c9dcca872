import { ChartError, messageOf, userFacingError } from '../engine/errors';
import { chartIdFromTopic, checkChartId, parseEvent } from '../engine/event';
import { compileMachine, type CompiledMachine, type Implementations } from '../engine/machine';
import { compileJavaScript } from '../engine/sandbox';
import type { MachineVersions } from '../runtime/machine-versions';
import { MachineSource } from '../runtime/machine-source';
import { errorMessage } from '../engine/messages';
import { ChartRuntime, type Outcome } from '../runtime/chart-runtime';
import { TimerScheduler } from '../runtime/timer-scheduler';
import { mqttOutByOutput } from './downstream';
import type { StoreStatus } from '../store/chart-store';
import { DEFAULT_DEDUP_WINDOW, type DedupWindow } from '../store/sql/prune-event-ids';
import type { DoneFunction, Node, NodeAPI, NodeMessage, NodeStatus, SendFunction } from './node-red';
import { toNodeMessage } from './node-messages';
import { Delivery } from './delivery';
import { OutboxRelay } from '../runtime/outbox-relay';
import type { StoreNode } from './xstate-store';

export interface ChartConfig {
  name?: string;
  store?: string;
  source?: 'inline' | 'store';
  definition?: string;
  machineId?: string;
  implementations?: string;
  topicPrefix?: string;
  create?: boolean | string;
  strict?: boolean | string;
}

export const DEFAULT_PREFIX = 'xstate/chart';
const STATUS_INTERVAL_MS = 250;
const CLOSE_WAIT_MS = 10000;
const PRUNE_EVERY_MS = 60000;

function flag(value: boolean | string | undefined, fallback: boolean): boolean {
  if (value === undefined || value === '') return fallback;
  return value === true || value === 'true';
}

export default function registerChartNode(RED: NodeAPI): void {
  function XStateChartNode(this: Node, config: ChartConfig) {
    RED.nodes.createNode(this, config);
    const node = this;
    const prefix = (config.topicPrefix || DEFAULT_PREFIX).trim().replace(/\/+$/, '') || DEFAULT_PREFIX;
    const storeNode = config.store ? (RED.nodes.getNode(config.store) as StoreNode | null) : null;
    const store = storeNode?.store;

    const source = config.source === 'store' ? 'store' : 'inline';
    const machineId = (config.machineId ?? '').trim();
    let implementations: Implementations = {};
    const compile = (definition: unknown): CompiledMachine =>
      compileMachine(definition, { implementations, logger: (...args: unknown[]) => node.log(args.map(String).join(' ')) });

    // A configuration that cannot work is reported at deploy, and answers every event with its reason.
    let compiled: CompiledMachine | undefined;
    let failure: ChartError | undefined;
    try {
      if (!store) throw new ChartError('persistence_failed', storeNode?.configError ?? 'No xstate-store is configured for this node.');
      implementations = compileJavaScript(config.implementations, {
        env: (name) => RED.util.getSetting(node, name),
        log: (message) => node.log(message),
      });
      if (source === 'store') {
        if (!machineId) throw new ChartError('definition_invalid', 'Set the machine id to read from the store.');
      } else {
        compiled = compile(config.definition ?? '');
      }
    } catch (err) {
      failure = err instanceof ChartError ? err : new ChartError('definition_invalid', messageOf(err));
    }

    // Node status: charts served and last transition, or the store's trouble, at most 4 times a second.
    let chartCount = 0;
    let pendingTimers = 0;
    let lastText = '';
    let storeStatus: StoreStatus | undefined;
    let statusTimer: NodeJS.Timeout | undefined;
    const statusNow = (): NodeStatus => {
      if (failure) return { fill: 'red', shape: 'ring', text: `${failure.code}: ${failure.message}`.slice(0, 120) };
      if (storeStatus?.state === 'retrying') return { fill: 'yellow', shape: 'ring', text: `store retrying: ${storeStatus.message}`.slice(0, 120) };
      if (storeStatus?.state === 'error') return { fill: 'red', shape: 'ring', text: `store error: ${storeStatus.message}`.slice(0, 120) };
      const charts = `${chartCount} chart${chartCount === 1 ? '' : 's'}${pendingTimers > 0 ? `, ${pendingTimers} timer${pendingTimers === 1 ? '' : 's'}` : ''}`;
      return { fill: 'green', shape: 'dot', text: lastText ? `${charts} · ${lastText}` : charts };
    };
    const showStatus = (immediately = false) => {
      if (immediately) {
        if (statusTimer) clearTimeout(statusTimer);
        statusTimer = undefined;
        node.status(statusNow());
      } else if (!statusTimer) {
        statusTimer = setTimeout(() => {
          statusTimer = undefined;
          node.status(statusNow());
        }, STATUS_INTERVAL_MS);
      }
    };

    if (failure) {
      node.error(`${failure.code}: ${failure.message}`);
    }
    showStatus(true);

    const onStoreStatus = (status: StoreStatus) => {
      storeStatus = status;
      showStatus(true);
    };
    store?.on('status', onStoreStatus);
    const releaseStore = store?.acquire();

    // The runtime exists once the machine's version is known; a failure (store down, no machine in
    // the store yet) is retried by the next event.
    let runtime: Promise<ChartRuntime> | undefined;
    let versions: MachineVersions | undefined;
    let scheduler: TimerScheduler | undefined;
    let pruneTimer: NodeJS.Timeout | undefined;
    let delivery: Delivery | undefined;
    let relay: OutboxRelay | undefined;
    let closing = false;
    // The idempotency window: settings.js `xstate: { dedup: { events: 1000, hours: 24 } }`.
    const dedup = { ...DEFAULT_DEDUP_WINDOW, ...((RED.settings.xstate as { dedup?: Partial<DedupWindow> } | undefined)?.dedup ?? {}) };

    const machines = !store || failure
      ? undefined
      : new MachineSource({
          store,
          compile,
          ...(source === 'store' ? { source: 'store' as const, machineId } : { source: 'inline' as const, machine: compiled as CompiledMachine }),
          onLoaded: (version) => {
            node.log(`machine "${machineId}" version ${version} loaded`);
            lastText = `v${version} loaded`;
            showStatus();
          },
          onError: (message) => node.error(message),
        });

    const ensureRuntime = (): Promise<ChartRuntime> => {
      if (!runtime && store && machines) {
        runtime = (async () => {
          versions = await (machines as MachineSource).open();
          const current = versions.current;
          chartCount = await store.countCharts(current.machine.id);
          showStatus(true);
          const rt = new ChartRuntime({
            store,
            machines: versions,
            topicPrefix: prefix,
            create: flag(config.create, true),
            strict: flag(config.strict, true),
            onTimersScheduled: (delayMs) => scheduler?.notify(delayMs),
            outbox: true,
          });
          // Committed messages go out through the outbox: held while the mqtt out nodes downstream
          // are disconnected, replayed in order, at least once (also after a crash).
          delivery ??= new Delivery(node, mqttOutByOutput(RED, node as never), RED.hooks as never);
          const connectedDelivery = delivery;
          relay ??= new OutboxRelay({
            store,
            machineId: current.machine.id,
            deliver: (messages) => connectedDelivery.deliver(messages),
            canDeliver: () => connectedDelivery.connected(),
            onError: (err) => node.debug?.(`xstate-chart: outbox: ${messageOf(err)}`),
          });
          relay.start();
          startTimers(rt, current.machine.id);
          const id = current.machine.id;
          pruneTimer ??= setInterval(() => void store.pruneEventIds(id, dedup).catch(() => {}), PRUNE_EVERY_MS);
          pruneTimer.unref();
          return rt;
        })();
        runtime.catch(() => {
          runtime = undefined;
        });
      }
      return runtime ?? Promise.reject(failure);
    };
    if (!failure) ensureRuntime().catch((err) => node.warn(`xstate-chart: not ready yet: ${messageOf(err)}`));

    /** `msg.machine`: a new version of this node's stored machine, written to the store. */
    const putMachine = (definition: unknown, send: SendFunction, done: DoneFunction) => {
      if (!machines) return fail(failure as ChartError, undefined, undefined, send, done);
      machines.put(definition).then(
        (version) => {
          node.log(`machine "${machineId}" version ${version} stored`);
          // Running charts already have it when this node has started; else the first event loads it.
          lastText = versions?.current.version === version ? `v${version} loaded` : `v${version} stored`;
          showStatus();
          done();
        },
        (err) => fail(err instanceof ChartError ? err : new ChartError('definition_invalid', messageOf(err)), undefined, undefined, send, done),
      );
    };

    /** Due timers fire at once; what they produce waits in the outbox until it can be delivered. */
    const startTimers = (rt: ChartRuntime, machineId: string) => {
      if (closing) return;
      scheduler = new TimerScheduler({
        store: store as NonNullable<typeof store>,
        machineId,
        fire: (timer) =>
          rt.fireTimer(timer).then((outcome) => {
            emit(outcome, (msgs) => node.send(msgs));
            noteOutcome(outcome);
          }),
        onPending: (pending) => {
          if (pending !== pendingTimers) {
            pendingTimers = pending;
            showStatus();
          }
        },
        onError: (err) => node.warn(`xstate-chart: timers: ${messageOf(err)}`),
      });
      scheduler.start();
    };

    const noteOutcome = (outcome: Outcome) => {
      if (outcome.kind === 'rejected') {
        lastText = `${outcome.chartId ?? '?'}: ${outcome.error.code}`;
        showStatus();
      } else if (outcome.kind === 'applied') {
        if (outcome.created) chartCount++;
        lastText = `${outcome.chartId}: ${JSON.stringify(outcome.state.value).replace(/["{}]/g, '').replace(/:/g, '.')}`;
        showStatus();
      }
    };

    /** A committed transition's messages go through the outbox; an error goes out at once. */
    const emit = (outcome: Outcome, send: SendFunction) => {
      if (outcome.kind === 'applied') return relay?.committed(outcome.chartId, outcome.state.metadata.seq, outcome.messages);
      if (outcome.messages.length === 0) return;
      send([null, null, outcome.messages.map(toNodeMessage)]);
    };

    const fail = (error: ChartError, chartId: string | undefined, event: unknown, send: SendFunction, done: DoneFunction) => {
      const message = errorMessage(prefix, error, {
        chartId,
        event,
        machineId: versions?.current.machine.id ?? compiled?.id ?? machineId,
        machineVersion: versions?.current.version ?? 0,
        timestamp: Date.now(),
      });
      send([null, null, [toNodeMessage(message)]]);
      lastText = `${chartId ?? '?'}: ${error.code}`;
      showStatus();
      done(userFacingError(error));
    };

    node.on('input', (msg: NodeMessage, send: SendFunction, done: DoneFunction) => {
      if (msg.machine !== undefined) return putMachine(msg.machine, send, done);
      const rawChartId = msg.chartId ?? chartIdFromTopic(msg.topic, prefix);
      let chartId: string | undefined;
      let event;
      try {
        if (rawChartId === undefined) {
          throw new ChartError('invalid_event', `No chart named: set msg.chartId or send to the topic ${prefix}/{chartId}/event (got topic ${JSON.stringify(msg.topic ?? null)}).`);
        }
        chartId = checkChartId(rawChartId);
        event = parseEvent(msg.payload);
      } catch (err) {
        const error = err instanceof ChartError ? err : new ChartError('invalid_event', messageOf(err));
        return fail(error, chartId, typeof msg.payload === 'object' && !Buffer.isBuffer(msg.payload) ? msg.payload : String(msg.payload), send, done);
      }
      if (failure) return fail(failure, chartId, event, send, done);
      const id = chartId;
      const parsed = event;
      ensureRuntime()
        .then((rt) => rt.dispatch(id, parsed), (err) => rtFailure(err))
        .then((outcome) => {
          emit(outcome, send);
          noteOutcome(outcome);
          if (outcome.kind === 'rejected') done(userFacingError(outcome.error));
          else done();
        })
        .catch((err) => done(err));

      function rtFailure(err: unknown): Outcome {
        const error = err instanceof ChartError ? err : new ChartError('persistence_failed', `The event was not applied: the store is not ready (${messageOf(err)}).`);
        const message = errorMessage(prefix, error, { chartId: id, event: parsed, machineId: versions?.current.machine.id ?? compiled?.id ?? machineId, machineVersion: versions?.current.version ?? 0, timestamp: Date.now() });
        return { kind: 'rejected', chartId: id, error, messages: [message] };
      }
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      closing = true;
      if (pruneTimer) clearInterval(pruneTimer);
      const relayStopped = relay?.stop().finally(() => delivery?.close());
      store?.off('status', onStoreStatus);
      void machines?.close();
      if (statusTimer) clearTimeout(statusTimer);
      const stopped = scheduler ? scheduler.stop() : Promise.resolve();
      const drained = stopped
        .then(() => (runtime ? runtime.then((rt) => rt.idle(), () => {}) : undefined))
        .then(() => relayStopped);
      const timeout = new Promise((resolve) => setTimeout(resolve, CLOSE_WAIT_MS).unref());
      Promise.race([drained, timeout]).then(() => {
        releaseStore?.();
        done();
      });
    });
  }
  RED.nodes.registerType('xstate-chart', XStateChartNode as never);
}
