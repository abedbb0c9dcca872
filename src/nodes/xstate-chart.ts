import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { ChartError, messageOf, userFacingError } from '../engine/errors';
import { errorText } from '../engine/texts';
import { chartIdFromTopic, checkChartId, checkTopicPrefix, parseEvent } from '../engine/event';
import { compileMachine, type CompiledMachine, type EventObject, type Implementations } from '../engine/machine';
import { compileJavaScript } from '../engine/sandbox';
import { errorMessage, Output, type ErrorPayload, type OutMessage } from '../engine/messages';
import { MachineSource, splitMachineInput } from '../runtime/machine-source';
import { DefinitionError } from '../engine/definition';
import { migrateProblems, NO_MIGRATE, parseMigrate, type MigrateMap } from '../engine/migrate';
import { ChartService } from '../runtime/chart-service';
import type { Outcome } from '../runtime/chart-runtime';
import type { StoreStatus } from '../store/chart-store';
import { Downstream } from './downstream';
import { keepTcpNoDelay } from './tcp-nodelay';
import type { DoneFunction, Node, NodeAPI, NodeMessage, NodeStatus, SendFunction } from './node-red';
import { toNodeMessage } from './node-messages';
import { ACK_TIMEOUT_MS, Delivery } from './delivery';
import { dedupWindow, maxQueuePerChart, processLimits, sizeLimits, xstateSettings } from './settings';
import { registerChartEndpoints, type ChartNodeApi } from './admin-api';
import { LiveUpdates } from './live-updates';
import { runtimeText, translateEngineTexts } from './i18n';
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
  /** The state map of an inline machine: how charts of earlier versions move to this one (JSON text). */
  migrate?: string;
  /** `move` (default): running charts move to the newest version when they can; `pin`: they finish on theirs. */
  versioning?: 'move' | 'pin';
}

export const DEFAULT_PREFIX = 'xstate/chart';
const STATUS_INTERVAL_MS = 250;
const CLOSE_WAIT_MS = 10000;

function flag(value: boolean | string | undefined, fallback: boolean): boolean {
  if (value === undefined || value === '') return fallback;
  return value === true || value === 'true';
}

/**
 * The outbox relay's name in the store: the same for this node after a restart of this process
 * (so it sends what it left at once), different for another process or node.
 */
function relayOwner(RED: NodeAPI, nodeId: string): string {
  const place = createHash('sha256').update(`${hostname()}\u0000${RED.settings.userDir ?? process.cwd()}`).digest('hex').slice(0, 12);
  return `${place}:${nodeId}`;
}

export default function registerChartNode(RED: NodeAPI): void {
  translateEngineTexts(RED);
  function XStateChartNode(this: Node, config: ChartConfig) {
    RED.nodes.createNode(this, config);
    const node = this;
    const text = runtimeText(RED, 'xstate-chart');
    const releaseNoDelay = keepTcpNoDelay(RED, node);
    // With TCP_NODELAY each socket write is a segment: the messages of one hand-over leave in one.
    const tcpNoDelay = xstateSettings(RED).tcpNoDelay !== false;
    const storeNode = config.store ? (RED.nodes.getNode(config.store) as StoreNode | null) : null;
    const store = storeNode?.store;
    const source = config.source === 'store' ? 'store' : 'inline';
    const machineId = (config.machineId ?? '').trim();
    let prefix = DEFAULT_PREFIX;

    // A configuration that cannot work is reported at deploy, and answers every event with its reason.
    let compiled: CompiledMachine | undefined;
    let compile: ((definition: unknown) => CompiledMachine) | undefined;
    let failure: ChartError | undefined;
    let machines: MachineSource | undefined;
    try {
      if (!store) throw new ChartError('persistence_failed', storeNode?.configError ?? errorText('noStore'));
      prefix = checkTopicPrefix(config.topicPrefix, DEFAULT_PREFIX);
      const implementations: Implementations = compileJavaScript(config.implementations, {
        env: (name) => RED.util.getSetting(node, name),
        log: (message) => node.log(message),
      });
      compile = (definition: unknown): CompiledMachine =>
        compileMachine(definition, { implementations, logger: (...args: unknown[]) => node.log(args.map(String).join(' ')) });
      if (source === 'store' && !machineId) throw new ChartError('definition_invalid', errorText('noMachineId'));
      let migrate = NO_MIGRATE;
      if (source === 'inline') {
        compiled = compile(config.definition ?? '');
        migrate = parseMigrate(config.migrate);
        const problems = migrateProblems(migrate, compiled.definition);
        if (problems.length > 0) throw new DefinitionError(problems);
      }
      machines = new MachineSource({
        store,
        compile,
        checkEveryMs: xstateSettings(RED).machines?.checkEveryMs,
        ...(source === 'store' ? { source: 'store' as const, machineId } : { source: 'inline' as const, machine: compiled as CompiledMachine, migrate }),
        onLoaded: (version) => {
          node.log(text('machineLoaded', { machineId, version }));
          status.last = () => text('versionLoaded', { version });
          showStatus();
        },
        onError: (message) => node.error(message),
      });
    } catch (err) {
      failure = err instanceof ChartError ? err : new ChartError('definition_invalid', messageOf(err));
    }

    // Node status: the store's state (SPEC §3: connected / retrying / error), the charts served and
    // the last transition or error, at most 4 times a second.
    // `last` is worded only when the status is shown (at most 4 times a second), not for every event:
    // the catalog lookup per event was 3% of Node-RED's CPU at 5,000 events/s.
    const status = { charts: 0, timers: 0, last: undefined as (() => string) | undefined, store: undefined as StoreStatus | undefined };
    let statusTimer: NodeJS.Timeout | undefined;
    const statusNow = (): NodeStatus => {
      if (failure) return { fill: 'red', shape: 'ring', text: text('failure', { code: failure.code, message: failure.message }).slice(0, 120) };
      if (status.store?.state === 'retrying') return { fill: 'yellow', shape: 'ring', text: text('storeRetrying', { message: status.store.message }).slice(0, 120) };
      if (status.store?.state === 'error') return { fill: 'red', shape: 'ring', text: text('storeError', { message: status.store.message }).slice(0, 120) };
      if (status.store?.state === 'connecting') return { fill: 'yellow', shape: 'ring', text: text('storeConnecting') };
      const charts = status.charts === 1 ? text('chartsOne') : text('chartsMany', { n: status.charts });
      const counts = status.timers === 0 ? charts : text('chartsAndTimers', { charts, timers: status.timers === 1 ? text('timersOne') : text('timersMany', { n: status.timers }) });
      const served = status.last ? text('withLast', { counts, last: status.last() }) : counts;
      return { fill: 'green', shape: 'dot', text: status.store?.state === 'connected' ? text('storeConnected', { status: served }) : served };
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
    // The editor's sidebar hears of the charts that move, at most once per half second each.
    const live = new LiveUpdates((topic, update) => RED.comms?.publish(topic, update, false), node.id);
    /**
     * An error message no input waits for (a timer's, the admin API's, a committed transition's
     * notice): raised with its message so that Catch nodes see it, as `done(err)` does for an input.
     */
    const raise = (message: OutMessage) => {
      const { code, message: said } = message.payload as ErrorPayload;
      node.error(userFacingError({ code, message: said }), toNodeMessage(message));
    };
    const noteOutcome = (outcome: Outcome) => {
      if (outcome.kind === 'rejected') {
        const { chartId, error } = outcome;
        status.last = () => text('lastError', { chartId: chartId ?? '?', code: error.code });
      } else if (outcome.kind === 'applied') {
        if (outcome.created) status.charts++;
        const { chartId, state } = outcome;
        status.last = () => text('lastTransition', { chartId, value: JSON.stringify(state.value).replace(/["{}]/g, '').replace(/:/g, '.') });
        live.changed({ chartId: state.chartId, value: state.value, status: state.status, seq: state.metadata.seq, version: state.machine.version, updatedAt: new Date(state.metadata.timestamp).toISOString() });
        for (const message of outcome.messages) if (message.output === Output.Error) raise(message);
      } else {
        return;
      }
      showStatus();
    };

    if (failure) node.error(text('failure', { code: failure.code, message: failure.message }));
    // The store is shared: a node deployed later finds it connected already.
    status.store = store?.status;
    showStatus(true);

    const onStoreStatus = (next: StoreStatus) => {
      status.store = next;
      showStatus(true);
    };
    store?.on('status', onStoreStatus);
    const releaseStore = store?.acquire();

    const limits = processLimits(RED);
    const sizes = sizeLimits(RED);
    const service =
      store && machines && !failure
        ? new ChartService({
            store,
            source: machines,
            topicPrefix: prefix,
            create: flag(config.create, true),
            strict: flag(config.strict, true),
            owner: relayOwner(RED, node.id),
            versioning: config.versioning === 'pin' ? 'pin' : 'move',
            cache: limits.cache,
            waiting: limits.waiting,
            maxQueuePerChart: maxQueuePerChart(RED),
            maxContextBytes: sizes.contextBytes,
            dedup: dedupWindow(RED),
            openDelivery: () =>
              new Delivery(node, new Downstream(RED, node as never), RED.hooks as never, ACK_TIMEOUT_MS, tcpNoDelay),
            onStarted: (charts) => {
              status.charts = charts;
              showStatus(true);
            },
            onTimerOutcome: (outcome) => {
              if (outcome.kind === 'rejected') {
                node.send([null, null, outcome.messages.map((message) => toNodeMessage(message))]);
                outcome.messages.forEach(raise);
              }
              noteOutcome(outcome);
            },
            onPendingTimers: (pending) => {
              if (pending === status.timers) return;
              status.timers = pending;
              showStatus();
            },
            onWarning: (part, err) => node.debug?.(text(part === 'outbox' ? 'outboxTrouble' : 'timersTrouble', { message: messageOf(err) })),
            onGiveUp: (entry, err) => node.warn(text('givenUp', { chartId: entry.chartId, seq: entry.seq, message: messageOf(err) })),
          })
        : undefined;
    service?.start().catch((err) => {
      // A state map whose sources are states of no stored version: wrong until redeployed.
      if (err instanceof DefinitionError) {
        failure = err;
        node.error(text('failure', { code: err.code, message: err.message }));
        showStatus(true);
      } else {
        node.warn(text('notReady', { message: messageOf(err) }));
      }
    });

    /** An error message on output 3 and to Catch nodes. */
    const fail = (error: ChartError, chartId: string | undefined, event: unknown, send: SendFunction, done: DoneFunction) => {
      const message = errorMessage(prefix, error, { chartId, event, machineId: compiled?.id ?? machineId, machineVersion: machines?.currentVersion ?? 0, timestamp: Date.now() });
      send([null, null, [toNodeMessage(message)]]);
      status.last = () => text('lastError', { chartId: chartId ?? '?', code: error.code });
      showStatus();
      done(userFacingError(error));
    };

    /** `msg.machine`: a new version of this node's stored machine, written to the store. */
    const putMachine = (definition: unknown, send: SendFunction, done: DoneFunction) => {
      if (!machines || failure) return fail(failure as ChartError, undefined, undefined, send, done);
      machines.put(definition).then(
        (version) => {
          node.log(text('machineStored', { machineId, version }));
          // Running charts already have it when this node has started; else the first event loads it.
          const key = machines?.currentVersion === version ? 'versionLoaded' : 'versionStored';
          status.last = () => text(key, { version });
          showStatus();
          done();
        },
        (err) => fail(err instanceof ChartError ? err : new ChartError('definition_invalid', messageOf(err)), undefined, undefined, send, done),
      );
    };

    /** An event from any door (MQTT, a flow, the admin API): applied in its chart's turn, its outcome noted. */
    const handle = async (chartId: string, event: EventObject, send: SendFunction): Promise<Outcome> => {
      if (!service) throw failure as ChartError;
      const outcome = await service.dispatch(chartId, event).catch((err): Outcome => {
        const error = err instanceof ChartError ? err : new ChartError('persistence_failed', errorText('storeNotReady', { message: messageOf(err) }));
        const message = errorMessage(prefix, error, { chartId, event, machineId: compiled?.id ?? machineId, machineVersion: machines?.currentVersion ?? 0, timestamp: Date.now() });
        return { kind: 'rejected', chartId, error, messages: [message] };
      });
      noteOutcome(outcome);
      if (outcome.kind === 'rejected') send([null, null, outcome.messages.map((message) => toNodeMessage(message))]);
      return outcome;
    };

    node.on('input', (msg: NodeMessage, send: SendFunction, done: DoneFunction) => {
      if (msg.machine !== undefined) return putMachine(msg.machine, send, done);
      const rawChartId = msg.chartId ?? chartIdFromTopic(msg.topic, prefix);
      let chartId: string | undefined;
      let event;
      try {
        if (rawChartId === undefined) {
          throw new ChartError('invalid_event', errorText('noChartNamed', { prefix, topic: JSON.stringify(msg.topic ?? null) }));
        }
        chartId = checkChartId(rawChartId);
        event = parseEvent(msg.payload, sizes.eventBytes);
      } catch (err) {
        const error = err instanceof ChartError ? err : new ChartError('invalid_event', messageOf(err));
        return fail(error, chartId, typeof msg.payload === 'object' && !Buffer.isBuffer(msg.payload) ? msg.payload : String(msg.payload), send, done);
      }
      if (!service) return fail(failure as ChartError, chartId, event, send, done);
      handle(chartId, event, send).then((outcome) => done(outcome.kind === 'rejected' ? userFacingError(outcome.error) : undefined));
    });

    /** What the admin API and the editor's sidebar ask of this node. */
    const api: ChartNodeApi & { drained(): Promise<void> } = {
      eventBytes: sizes.eventBytes,
      charts: (chartPrefix, after, limit) => (service ? service.charts(chartPrefix, after, limit) : Promise.reject(failure)),
      chart: (chartId) => (service ? service.chart(chartId) : Promise.reject(failure)),
      dispatch: async (chartId, event) => {
        const outcome = await handle(chartId, event, (msgs) => node.send(msgs));
        if (outcome.kind === 'rejected') outcome.messages.forEach(raise);
        return outcome;
      },
      impact: async (input, versioning) => {
        if (!service || !compile) throw failure as ChartError;
        let candidate: CompiledMachine;
        let map: MigrateMap;
        try {
          const { definition, migrate } = splitMachineInput(input);
          candidate = compile(definition);
          map = migrate;
        } catch (err) {
          if (err instanceof DefinitionError) return { problems: err.problems };
          return { problems: [{ path: '', message: messageOf(err) }] };
        }
        const stored = machines ? (await store?.loadMachineVersions(candidate.id))?.map((v) => v.definition) : undefined;
        const problems = migrateProblems(map, candidate.definition, stored && stored.length > 0 ? stored : undefined);
        return { problems, impact: await service.impact(candidate, map, versioning) };
      },
      migrateCharts: (limit) => (service ? service.migrateCharts(limit) : Promise.reject(failure)),
      deleteChart: async (chartId) => {
        if (!service) throw failure as ChartError;
        const deleted = await service.deleteChart(chartId);
        if (!deleted) return false;
        // Its retained state and values go from the broker too (best effort: no chart, no outbox),
        // each message with the chart's metadata as every output message has it.
        const xstate = { chartId, machineId: compiled?.id ?? machineId, machineVersion: deleted.version, seq: deleted.seq };
        node.send([service.retainedTopics(chartId).map((topic) => ({ topic, payload: '', retain: true, qos: 1, chartId, xstate: { ...xstate } })), null, null]);
        live.deleted(chartId);
        return true;
      },
      /** For tests and tools: resolves when every committed message of this node was delivered. */
      drained: () => service?.drained() ?? Promise.resolve(),
    };
    (node as Node & { xstate?: typeof api }).xstate = api;

    node.on('close', (_removed: boolean, done: () => void) => {
      releaseNoDelay();
      store?.off('status', onStoreStatus);
      if (statusTimer) clearTimeout(statusTimer);
      live.close();
      const stopped = service ? service.stop(CLOSE_WAIT_MS) : machines?.close();
      Promise.resolve(stopped)
        .catch((err) => node.warn(text('closing', { message: messageOf(err) })))
        .then(() => {
          releaseStore?.();
          done();
        });
    });
  }
  RED.nodes.registerType('xstate-chart', XStateChartNode as never);
  registerChartEndpoints(RED);
}
