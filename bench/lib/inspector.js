'use strict';
// The live heap of a Node-RED process after a full garbage collection, through the inspector
// protocol (the process runs with --inspect=127.0.0.1:0): tells memory that is held from memory
// that is only not yet collected or not yet returned to the system.
const WebSocket = require('ws');

function inspectorUrl(nr) {
  return /Debugger listening on (ws:\/\/\S+)/.exec(nr.output)?.[1];
}

/** Resolves to { heapUsedMb, heapTotalMb } after HeapProfiler.collectGarbage. */
async function heapAfterGc(nr) {
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
  try {
    await call('HeapProfiler.collectGarbage');
    const { usedSize, totalSize } = await call('Runtime.getHeapUsage');
    return { heapUsedMb: Math.round(usedSize / 2 ** 20), heapTotalMb: Math.round(totalSize / 2 ** 20) };
  } finally {
    socket.close();
  }
}

module.exports = { heapAfterGc };
