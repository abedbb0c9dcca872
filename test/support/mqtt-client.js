'use strict';
// An outside MQTT client for the tests: records what it receives and lets a test await a message.
const mqtt = require('mqtt');

class MqttRecorder {
  constructor(client) {
    this.client = client;
    this.messages = [];
    this.waiters = new Set();
    this.retainedTopics = new Set();
    client.on('message', (topic, payload, packet) => {
      const text = payload.toString('utf8');
      let json;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      const message = { topic, text, json, retain: packet.retain };
      this.messages.push(message);
      // Our nodes retain state and value messages; a live subscriber sees them without the flag.
      if (packet.retain || /\/(state|value\/.*)$/.test(topic)) this.retainedTopics.add(topic);
      for (const waiter of this.waiters) {
        if (waiter.predicate(message)) {
          this.waiters.delete(waiter);
          clearTimeout(waiter.timer);
          waiter.resolve(message);
        }
      }
    });
  }

  static async connect(url, options = {}) {
    const client = await mqtt.connectAsync(url, { clean: true, reconnectPeriod: 0, ...options });
    // This client both publishes and acknowledges QoS 1 deliveries: without TCP_NODELAY its
    // publishes wait behind its acknowledgements (Nagle's algorithm and delayed ACKs).
    client.stream.setNoDelay?.(true);
    return new MqttRecorder(client);
  }

  async subscribe(pattern, qos = 1) {
    await this.client.subscribeAsync(pattern, { qos });
  }

  publish(topic, payload, options = { qos: 1 }) {
    const body = typeof payload === 'string' || Buffer.isBuffer(payload) ? payload : JSON.stringify(payload);
    return this.client.publishAsync(topic, body, options);
  }

  filter(predicate) {
    return this.messages.filter(predicate);
  }

  /** The first message, received already or later, that matches; rejects after `timeoutMs`. */
  waitFor(predicate, timeoutMs = 20000, what = 'message') {
    const seen = this.messages.find(predicate);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const waiter = { predicate, resolve };
      waiter.timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  /** Clears the retained messages this client saw, so the broker keeps nothing from the tests. */
  async end() {
    for (const topic of this.retainedTopics) await this.client.publishAsync(topic, '', { qos: 1, retain: true });
    await this.client.endAsync();
  }
}

module.exports = { MqttRecorder };
