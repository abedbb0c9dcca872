'use strict';
// The heap of a Node-RED process through the inspector protocol (the process runs with
// --inspect=127.0.0.1:0): tells memory that is held from memory that is only not yet collected or
// not yet returned to the system.
const WebSocket = require('ws');

function inspectorUrl(nr) {
  return /Debugger listening on (ws:\/\/\S+)/.exec(nr.output)?.[1];
}

const mb = (bytes) => Math.round(bytes / 2 ** 20);

/** An inspector session: `call(method, params)` resolves to the method's result; `close()`. */
async function inspect(nr) {
  const url = inspectorUrl(nr);
  if (!url) throw new Error('the Node-RED process was not started with --inspect');
  const socket = new WebSocket(url);
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  let id = 0;
  const call = (method, params = {}) =>
    new Promise((resolve, reject) => {
      const mine = ++id;
      const onMessage = (data) => {
        const reply = JSON.parse(data.toString());
        if (reply.id !== mine) return;
        socket.off('message', onMessage);
        if (reply.error) reject(new Error(`${method}: ${reply.error.message}`));
        else resolve(reply.result);
      };
      socket.on('message', onMessage);
      socket.send(JSON.stringify({ id: mine, method, params }));
    });
  return { call, close: () => socket.close() };
}

/** Resolves to { heapUsedMb, heapTotalMb } after HeapProfiler.collectGarbage. */
async function heapAfterGc(nr) {
  const session = await inspect(nr);
  try {
    await session.call('HeapProfiler.collectGarbage');
    const { usedSize, totalSize } = await session.call('Runtime.getHeapUsage');
    return { heapUsedMb: mb(usedSize), heapTotalMb: mb(totalSize) };
  } finally {
    session.close();
  }
}

/**
 * Samples the heap's size every `everyMs` until `stop()`, which resolves to the largest
 * { heapUsedMb, heapTotalMb } seen: what V8 held at the peak, garbage included.
 */
async function heapPeak(nr, everyMs = 250) {
  const session = await inspect(nr);
  const peak = { heapUsedMb: 0, heapTotalMb: 0 };
  let stopped = false;
  const sampling = (async () => {
    while (!stopped) {
      const { usedSize, totalSize } = await session.call('Runtime.getHeapUsage');
      peak.heapUsedMb = Math.max(peak.heapUsedMb, mb(usedSize));
      peak.heapTotalMb = Math.max(peak.heapTotalMb, mb(totalSize));
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await sampling;
      session.close();
      return peak;
    },
  };
}

module.exports = { heapAfterGc, heapPeak };
