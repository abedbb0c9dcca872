import { ChartError, messageOf, userFacingError } from '../engine/errors';
import { chartIdFromTopic, checkChartId, parseEvent } from '../engine/event';
import { compileMachine, type CompiledMachine } from '../engine/machine';
import { errorMessage, Output, type OutMessage } from '../engine/messages';
import { actionBus } from '../runtime/action-bus';
import { ChartRuntime, type Outcome } from '../runtime/chart-runtime';
import { TimerScheduler } from '../runtime/timer-scheduler';
import { downstreamMqttOut, mqttConnected } from './downstream';
import type { StoreStatus } from '../store/chart-store';
import type { DoneFunction, Node, NodeAPI, NodeMessage, NodeStatus, SendFunction } from './node-red';
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
/** How long timers wait at start-up for the `mqtt out` nodes downstream to connect. */
const MQTT_WAIT_MS = 15000;

function flag(value: boolean | string | undefined, fallback: boolean): boolean {
  if (value === undefined || value === '') return fallback;
  return value === true || value === 'true';
}

/** Node-RED message for an outgoing message; payloads are copied so no flow can touch a chart's state. */
export function toNodeMessage(message: OutMessage): NodeMessage {
  return {
    topic: message.topic,
    payload: typeof message.payload === 'object' ? structuredClone(message.payload) : message.payload,
    retain: message.retain,
    qos: 1,
    chartId: message.xstate.chartId,
    xstate: { ...message.xstate },
  };
}

export default function registerChartNode(RED: NodeAPI): void {
  function XStateChartNode(this: Node, config: ChartConfig) {
    RED.nodes.createNode(this, config);
    const node = this;
    const prefix = (config.topicPrefix || DEFAULT_PREFIX).trim().replace(/\/+$/, '') || DEFAULT_PREFIX;
    const storeNode = config.store ? (RED.nodes.getNode(config.store) as StoreNode | null) : null;
    const store = storeNode?.store;

    let compiled: CompiledMachine | undefined;
    let failure: ChartError | undefined;
    if (!store) {
      failure = new ChartError('persistence_failed', storeNode?.configError ?? 'No xstate-store is configured for this node.');
    } else if (config.source === 'store') {
      failure = new ChartError('definition_invalid', 'Machines read from the store (source "store") are not supported by this version yet: use an inline definition.');
    } else {
      try {
        compiled = compileMachine(config.definition ?? '');
      } catch (err) {
        failure = err instanceof ChartError ? err : new ChartError('definition_invalid', messageOf(err));
      }
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

    // The runtime exists once the machine's version is registered; a failed registration is retried
    // by the next event.
    let runtime: Promise<ChartRuntime> | undefined;
    let scheduler: TimerScheduler | undefined;
    let closing = false;
    const ensureRuntime = (): Promise<ChartRuntime> => {
      if (!runtime && store && compiled) {
        const machine = compiled;
        runtime = (async () => {
          const version = await store.registerMachine(machine.id, machine.definition, machine.digest);
          chartCount = await store.countCharts(machine.id);
          showStatus(true);
          const rt = new ChartRuntime({
            store,
            machine,
            version,
            topicPrefix: prefix,
            create: flag(config.create, true),
            strict: flag(config.strict, true),
            onTimersScheduled: (delayMs) => scheduler?.notify(delayMs),
          });
          void startTimers(rt, machine.id);
          return rt;
        })();
        runtime.catch(() => {
          runtime = undefined;
        });
      }
      return runtime ?? Promise.reject(failure);
    };
    if (!failure) ensureRuntime().catch((err) => node.warn(`xstate-chart: store not ready yet: ${messageOf(err)}`));

    /** Due timers fire once the `mqtt out` nodes downstream can publish what they produce. */
    const startTimers = async (rt: ChartRuntime, machineId: string) => {
      const outputs = downstreamMqttOut(RED, node as never);
      if (outputs.length > 0 && !(await mqttConnected(outputs, MQTT_WAIT_MS))) {
        node.warn('xstate-chart: the mqtt out nodes downstream are not connected yet; timers start anyway.');
      }
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

    const emit = (outcome: Outcome, send: SendFunction) => {
      if (outcome.messages.length === 0) return;
      const outputs: NodeMessage[][] = [[], [], []];
      for (const message of outcome.messages) {
        outputs[message.output].push(toNodeMessage(message));
        if (message.output === Output.Action) actionBus.publish({ sourceNodeId: node.id, message });
      }
      send(outputs.map((list) => (list.length === 0 ? null : list)));
    };

    const fail = (error: ChartError, chartId: string | undefined, event: unknown, send: SendFunction, done: DoneFunction) => {
      const message = errorMessage(prefix, error, {
        chartId,
        event,
        machineId: compiled?.id ?? '',
        machineVersion: 0,
        timestamp: Date.now(),
      });
      send([null, null, [toNodeMessage(message)]]);
      lastText = `${chartId ?? '?'}: ${error.code}`;
      showStatus();
      done(userFacingError(error));
    };

    node.on('input', (msg: NodeMessage, send: SendFunction, done: DoneFunction) => {
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
        const error = new ChartError('persistence_failed', `The event was not applied: the store is not ready (${messageOf(err)}).`);
        const message = errorMessage(prefix, error, { chartId: id, event: parsed, machineId: compiled?.id ?? '', machineVersion: 0, timestamp: Date.now() });
        return { kind: 'rejected', chartId: id, error, messages: [message] };
      }
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      closing = true;
      store?.off('status', onStoreStatus);
      if (statusTimer) clearTimeout(statusTimer);
      const stopped = scheduler ? scheduler.stop() : Promise.resolve();
      const drained = stopped.then(() => (runtime ? runtime.then((rt) => rt.idle(), () => {}) : undefined));
      const timeout = new Promise((resolve) => setTimeout(resolve, CLOSE_WAIT_MS).unref());
      Promise.race([drained, timeout]).then(() => {
        releaseStore?.();
        done();
      });
    });
  }
  RED.nodes.registerType('xstate-chart', XStateChartNode as never);
}
