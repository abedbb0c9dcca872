'use strict';
// An in-process MQTT broker (aedes) for `npm start` and the tests when no MQTT_URL is given.
const net = require('node:net');
const { Aedes } = require('aedes');

/** Starts a broker on `port` (0: any free port); resolves to { url, port, close }. */
async function startEmbeddedBroker(port = 0, host = '127.0.0.1') {
  const broker = await Aedes.createBroker();
  // TCP_NODELAY on every accepted connection: with Nagle's algorithm a small MQTT packet waits for
  // the ACK of the previous one (about 40 ms with delayed ACKs); Mosquitto's `set_tcp_nodelay true`.
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    broker.handle(socket);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const actualPort = server.address().port;
  return {
    url: `mqtt://${host}:${actualPort}`,
    port: actualPort,
    close: () =>
      new Promise((resolve) => {
        server.close(() => broker.close(() => resolve()));
        // Clients still connected keep the server open: end them.
        for (const client of Object.values(broker.clients)) client.close();
      }),
  };
}

/** Whether something listens on this local TCP port (a broker already running). */
function portInUse(port, host = '127.0.0.1') {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

module.exports = { startEmbeddedBroker, portInUse };
