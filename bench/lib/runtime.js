'use strict';
// The package's runtime without Node-RED or MQTT (the built dist/index.js), set up as the chart
// node's ChartService sets it up: group commit in the store, outbox rows owned by a relay that
// "delivers" at once and clears them.
const { ChartStore, ChartRuntime, MachineVersions, OutboxRelay, compileMachine } = require('../../dist/index.js');

async function openRuntime(storeConfig, definition) {
  const store = new ChartStore(storeConfig);
  const machine = compileMachine(definition);
  const version = await store.registerMachine(machine.id, machine.definition, machine.digest);
  const machines = new MachineVersions({ machine, version }, () => Promise.reject(new Error('one version only')), compileMachine);
  const owner = `bench-${process.pid}`;
  const relay = new OutboxRelay({ store, machineId: machine.id, owner, deliver: async () => {}, canDeliver: () => true });
  const runtime = new ChartRuntime({
    store, machines, topicPrefix: 'bench', create: true, strict: true, outboxOwner: owner,
    onCommitted: (chartId, seq, messages, earlierOutbox) => relay.committed(chartId, seq, messages, earlierOutbox),
  });
  await relay.start();
  /** Applies one event; resolves with the outcome once committed (its messages handed to the relay). */
  const dispatch = async (chartId, event) => {
    const outcome = await runtime.dispatch(chartId, event);
    if (outcome.kind !== 'applied' && outcome.kind !== 'duplicate') throw new Error(`${chartId}: ${outcome.kind} ${outcome.error?.code ?? ''} ${outcome.error?.message ?? ''}`);
    return outcome;
  };
  const close = async () => {
    await runtime.idle();
    await relay.stop();
    runtime.dispose();
    await store.close();
  };
  return { store, runtime, machine, dispatch, close };
}

module.exports = { openRuntime };
