/**
 * The package's one bundle. Node-RED requires the three small files in `nodes/`, and each takes its
 * registration function from here, so process-wide state exists once.
 */
export { default as xstateStore } from './nodes/xstate-store';
export { default as xstateChart } from './nodes/xstate-chart';
export { default as xstateAction } from './nodes/xstate-action';

// The engine and runtime, free of Node-RED, for tests, benchmarks and embedding.
export { compileMachine, initialStep, step, stepIfAccepted, accepts, restoreSnapshot, persistSnapshot, canonicalJson, digestOf } from './engine/machine';
export type { CompiledMachine, Step, ExternalAction, EventObject, TimerChange, Implementations } from './engine/machine';
export { parseDefinition } from './engine/definition';
export { compileJavaScript } from './engine/sandbox';
export { jsonLogicProblem } from './engine/declarative';
export { parseEvent, checkChartId, checkTopicPrefix, isValidChartId, chartIdFromTopic, MAX_EVENT_BYTES } from './engine/event';
export { chartStateOf, valuesOf, valueChanges } from './engine/chart-state';
export type { ChartState } from './engine/chart-state';
export { ChartError } from './engine/errors';
export { errorText, problemText, useTranslation } from './engine/texts';
export type { Translate } from './engine/texts';
export type { ErrorCode } from './engine/errors';
export { transitionMessages, errorMessage, echoOf, outboxRecordJson, outboxMessages, Output, MAX_ECHO_CHARS } from './engine/messages';
export { ChartStore } from './store/chart-store';
export type { StoreOptions, StoreStatus } from './store/chart-store';
export { withRetry, isTransient, DEFAULT_RETRY, RetriesExhausted } from './store/retry';
export { ChartRuntime } from './runtime/chart-runtime';
export type { Outcome } from './runtime/chart-runtime';
export { KeyedQueue } from './runtime/keyed-queue';
export { TimerScheduler } from './runtime/timer-scheduler';
export { OutboxRelay, DeliveryTimeout } from './runtime/outbox-relay';
export { ChartService } from './runtime/chart-service';
export { ChartCache } from './runtime/chart-cache';
export { WaitingEvents } from './runtime/waiting-events';
export { StatementGroup } from './store/statement-group';
export { TableGrowth } from './store/table-growth';
export { journeys } from './nodes/delivery';
export { oneWriteFor } from './nodes/broker-writes';
export { LiveUpdates, LIVE_UPDATE_INTERVAL_MS } from './nodes/live-updates';
export { MachineVersions } from './runtime/machine-versions';
export { isoDurationMs } from './engine/delays';
export { actionBus } from './runtime/action-bus';
export { parseMigrate, planMove } from './engine/migrate';
export type { MigrateMap } from './engine/migrate';
export { impactOf } from './engine/impact';
export type { Impact, ImpactGroup } from './engine/impact';
export { validateDefinition } from './engine/validate';
