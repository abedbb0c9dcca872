'use strict';
// The bench's MQTT client: publishes events and watches the state messages that answer them. Lean
// on purpose (it shares the CPU with Node-RED): no message log, JSON parsed only to measure latency.
// test/support/mqtt-client.js records every message, which suits tests, not load.
const fs = require('node:fs');
const mqtt = require('mqtt');
const { performance } = require('node:perf_hooks');
const { percentile } = require('./stats');

const STALL_MS = 20000;

class LoadClient {
  static async connect(url) {
    const client = await mqtt.connectAsync(url, { clean: true, reconnectPeriod: 0, keepalive: 60 });
    // It publishes and acknowledges on one connection: without TCP_NODELAY its publishes wait
    // behind Nagle's algorithm.
    client.stream.setNoDelay(true);
    return new LoadClient(client);
  }

  constructor(client) {
    this.client = client;
    this.onState = () => {};
    client.on('message', (topic, payload, packet) => {
      // A retained message delivered on subscribe answers no event of this run.
      if (!packet.retain) this.onState(topic, payload);
    });
  }

  /** Subscribe once per path, before its first event (retained state messages are ignored). */
  async watch(prefix) {
    await this.client.subscribeAsync(`${prefix}/+/state`, { qos: 0 });
  }

  publish(prefix, chartId, event) {
    this.client.publish(`${prefix}/${chartId}/event`, JSON.stringify(event), { qos: 1 });
  }

  /**
   * Closed loop: keeps `window` events unanswered, spread over the charts in turn, for `seconds`;
   * resolves with { events, seconds, rate } once every event sent is answered.
   */
  throughput({ prefix, chartIds, window, seconds, tag, maxEvents = Infinity }) {
    const started = performance.now();
    const stopAt = started + seconds * 1000;
    let sent = 0;
    let answered = 0;
    let lastAt = started;
    return new Promise((resolve, reject) => {
      const finish = (err) => {
        clearInterval(ticker);
        this.onState = () => {};
        if (err) return reject(err);
        const elapsed = (lastAt - started) / 1000;
        resolve({ events: sent, seconds: elapsed, rate: sent / elapsed });
      };
      const topUp = () => {
        while (sent - answered < window && sent < maxEvents && performance.now() < stopAt) {
          this.publish(prefix, chartIds[sent % chartIds.length], { type: 'next', id: `${tag}-${sent}` });
          sent++;
        }
        if ((performance.now() >= stopAt || sent >= maxEvents) && answered >= sent) finish();
      };
      this.onState = (topic) => {
        if (!topic.startsWith(`${prefix}/`)) return;
        answered++;
        lastAt = performance.now();
        topUp();
      };
      const ticker = setInterval(() => {
        if (performance.now() - lastAt > STALL_MS) finish(new Error(`${prefix}: no answer for ${STALL_MS} ms (${answered} of ${sent} answered)`));
        else topUp();
      }, 50);
      topUp();
    });
  }

  /** Resolves once the flow at `prefix` answers: `mqtt in` subscribed, `mqtt out` connected. */
  async ready(prefix, timeoutMs = 60000) {
    const started = performance.now();
    for (let i = 0; ; i++) {
      const id = `ready-${i}`;
      const answered = this.answerOf(prefix, id, 250).then(() => true, () => false);
      this.publish(prefix, 'ready', { type: 'next', id });
      if (await answered) break;
      if (performance.now() - started > timeoutMs) throw new Error(`${prefix}: the flow did not answer in ${timeoutMs} ms`);
    }
    this.onState = () => {};
  }

  /** One event at a time; resolves with the latencies (ms) publish → state message. */
  async oneAtATime({ prefix, chartIds, samples, tag }) {
    const latencies = [];
    for (let i = 0; i < samples; i++) {
      const id = `${tag}-${i}`;
      const answered = this.answerOf(prefix, id);
      const sentAt = performance.now();
      this.publish(prefix, chartIds[i % chartIds.length], { type: 'next', id });
      latencies.push((await answered) - sentAt);
    }
    this.onState = () => {};
    return latencies;
  }

  answerOf(prefix, id, timeoutMs = STALL_MS) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${prefix}: no state message for event ${id}`)), timeoutMs);
      this.onState = (topic, payload) => {
        if (!topic.startsWith(`${prefix}/`) || eventIdOf(payload) !== id) return;
        clearTimeout(timer);
        resolve(performance.now());
      };
    });
  }

  /**
   * Open loop: `rate` events a second for `seconds`, whatever the answers; resolves with the
   * latencies (ms), the rate achieved and how many were not answered within STALL_MS.
   */
  async atRate({ prefix, chartIds, rate, seconds, tag }) {
    const sentAt = new Map();
    const latencies = [];
    // BENCH_LATENCY_TRACE=<file>: when each answer came (ms since the epoch) and its latency, written
    // once the run is over, to line the slow ones up with other traces (bench/tools/latency-timeline.js).
    const answeredAt = process.env.BENCH_LATENCY_TRACE ? [] : undefined;
    this.onState = (topic, payload) => {
      if (!topic.startsWith(`${prefix}/`)) return;
      const id = eventIdOf(payload);
      const at = sentAt.get(id);
      if (at === undefined) return;
      latencies.push(performance.now() - at);
      answeredAt?.push(Date.now());
      sentAt.delete(id);
    };
    const started = performance.now();
    let sent = 0;
    await new Promise((resolve) => {
      const ticker = setInterval(() => {
        const now = performance.now();
        const due = Math.min(rate * seconds, Math.floor(((now - started) / 1000) * rate));
        for (; sent < due; sent++) {
          const id = `${tag}-${sent}`;
          sentAt.set(id, performance.now());
          this.publish(prefix, chartIds[sent % chartIds.length], { type: 'next', id });
        }
        if (sent >= rate * seconds) {
          clearInterval(ticker);
          resolve();
        }
      }, 2);
    });
    const sendSeconds = (performance.now() - started) / 1000;
    const waitFrom = performance.now();
    while (sentAt.size > 0 && performance.now() - waitFrom < STALL_MS) await new Promise((resolve) => setTimeout(resolve, 20));
    this.onState = () => {};
    if (answeredAt) fs.appendFileSync(process.env.BENCH_LATENCY_TRACE, answeredAt.map((t, i) => `${tag} ${t} ${latencies[i].toFixed(2)}\n`).join(''));
    return { latencies, rate: sent / sendSeconds, unanswered: sentAt.size };
  }

  end() {
    return this.client.endAsync();
  }
}

function eventIdOf(payload) {
  try {
    return JSON.parse(payload.toString('utf8'))?.metadata?.event?.id;
  } catch {
    return undefined;
  }
}

/** p50/p99 in ms with two decimals. */
function latencySummary(latencies) {
  return { p50: Number(percentile(latencies, 50).toFixed(2)), p99: Number(percentile(latencies, 99).toFixed(2)), samples: latencies.length };
}

module.exports = { LoadClient, latencySummary };
