'use strict';
// The admin HTTP API (/xstate-store/:id/machines..., /xstate-chart/validate) behind Node-RED's admin authentication:
// a user without the permission gets 401/403 and no data; with it, the right data.
// Runtime: Node-RED as a child process (test/support/node-red-process.js) with `adminAuth` set: the
// test helper's runtime has no admin authentication. Store: the embedded database of that process,
// so this runs with nothing set (the endpoints are the same code on either store; their SQL is
// covered by store.test.js on both).
const assert = require('node:assert/strict');
const bcrypt = require('bcryptjs'); // Node-RED's own dependency, as its adminAuth users need
const { NodeRedProcess } = require('./support/node-red-process');

const PASSWORD = 'test-password';
/** One user per kind of permission; `viewer` is Node-RED's read-only user. */
const users = [
  { username: 'reader', permissions: ['xstate.read'] },
  { username: 'writer', permissions: ['xstate.write'] },
  { username: 'admin', permissions: '*' },
  { username: 'viewer', permissions: 'read' },
];

const doorV1 = { id: 'Door', initial: 'Closed', states: { Closed: { on: { open: 'Opened' } }, Opened: { on: { close: 'Closed' } } } };
const doorV2 = { ...doorV1, states: { ...doorV1.states, Opened: { on: { close: 'Closed', slam: 'Closed' } } } };

describe('admin HTTP API of the store (Node-RED process with adminAuth)', function () {
  this.timeout(60000);
  let nodeRed;
  const tokens = {};

  before(async () => {
    const hash = bcrypt.hashSync(PASSWORD, 4);
    nodeRed = new NodeRedProcess({
      flows: [{ id: 'store', type: 'xstate-store', backend: 'embedded', schema: 'xstate' }],
      settings: { adminAuth: { type: 'credentials', users: users.map((u) => ({ ...u, password: hash })) } },
    });
    await nodeRed.start();
    for (const { username, permissions } of users) {
      const scope = Array.isArray(permissions) ? permissions.join(' ') : permissions;
      const body = new URLSearchParams({ client_id: 'node-red-admin', grant_type: 'password', scope, username, password: PASSWORD });
      const response = await fetch(`${nodeRed.url}/auth/token`, { method: 'POST', body });
      assert.equal(response.status, 200, `${username} logs in`);
      tokens[username] = (await response.json()).access_token;
    }
  });
  after(async () => {
    await nodeRed?.stop();
  });

  /** { status, text, json } of a request as `user` (undefined: no token at all). */
  async function call(user, method, path, body) {
    const headers = { ...(user ? { authorization: `Bearer ${tokens[user]}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) };
    const response = await fetch(`${nodeRed.url}${path}`, { method, headers, body: body && JSON.stringify(body) });
    const text = await response.text();
    let json;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: response.status, text, json };
  }

  const refused = (answer, who) => {
    assert.ok([401, 403].includes(answer.status), `${who}: ${answer.status} ${answer.text}`);
    assert.doesNotMatch(answer.text, /Door|Closed|version/, `${who}: no data`);
  };
  const list = '/xstate-store/store/machines';
  const one = '/xstate-store/store/machines/Door';

  it('lets only xstate.write (or *) write a machine version, and returns its number', async () => {
    for (const user of [undefined, 'reader', 'viewer']) refused(await call(user, 'POST', one, doorV1), `${user ?? 'anonymous'} POST`);
    const first = await call('writer', 'POST', one, doorV1);
    assert.equal(first.status, 200, first.text);
    assert.deepEqual(first.json, { machineId: 'Door', version: 1 });
    const second = await call('admin', 'POST', one, doorV2);
    assert.deepEqual([second.status, second.json], [200, { machineId: 'Door', version: 2 }]);
    // The refused writes stored nothing: two versions, the writer's and the admin's.
    assert.deepEqual((await call('admin', 'GET', list)).json, [{ machineId: 'Door', version: 2 }]);
    const invalid = await call('admin', 'POST', one, { ...doorV1, id: 'Window' });
    assert.equal(invalid.status, 400);
    assert.match(invalid.text, /definition_invalid/);
    assert.match(invalid.text, /Window/);
  });

  it('lets only xstate.read (or read, or *) read machines', async () => {
    for (const user of [undefined, 'writer']) {
      refused(await call(user, 'GET', list), `${user ?? 'anonymous'} GET list`);
      refused(await call(user, 'GET', one), `${user ?? 'anonymous'} GET one`);
    }
    for (const user of ['reader', 'viewer', 'admin']) {
      const machines = await call(user, 'GET', list);
      assert.equal(machines.status, 200, `${user}: ${machines.text}`);
      assert.deepEqual(machines.json, [{ machineId: 'Door', version: 2 }], user);
      const door = await call(user, 'GET', one);
      assert.equal(door.status, 200, user);
      assert.equal(door.json.version, 2, user);
      assert.deepEqual(door.json.definition, doorV2, user);
    }
    assert.equal((await call('reader', 'GET', '/xstate-store/store/machines/Nothing')).status, 404);
  });

  // SPEC §10 marks only the writing endpoints xstate.write. A definition is data and is checked for
  // readers too; implementations are code that runs when checked, so only those who may write check them.
  it('validates a definition for xstate.read, and implementations only for xstate.write', async () => {
    const validate = '/xstate-chart/validate';
    const withCode = { definition: doorV1, implementations: 'return { guards: { ready: () => true } };' };
    for (const user of [undefined, 'writer']) refused(await call(user, 'POST', validate, { definition: doorV1 }), `${user ?? 'anonymous'} validate`);
    for (const user of ['reader', 'viewer', 'admin']) {
      const checked = await call(user, 'POST', validate, { definition: doorV1 });
      assert.deepEqual([checked.status, checked.json], [200, { ok: true, problems: [] }], `${user}: ${checked.text}`);
      const unknownTarget = await call(user, 'POST', validate, { definition: { ...doorV1, states: { ...doorV1.states, Closed: { on: { open: 'Nowhere' } } } } });
      assert.equal(unknownTarget.json.ok, false, user);
    }
    for (const user of [undefined, 'reader', 'viewer']) refused(await call(user, 'POST', validate, withCode), `${user ?? 'anonymous'} validate with implementations`);
    for (const user of ['writer', 'admin']) {
      const checked = await call(user, 'POST', validate, withCode);
      assert.equal(checked.status, 200, `${user}: ${checked.text}`);
    }
  });

  // SPEC §10: admin API errors are { error: { code, message } } with a 4xx status, no stack.
  it('answers errors as { error: { code, message } }', async () => {
    const invalid = await call('admin', 'POST', one, { ...doorV1, id: 'Window' });
    assert.equal(invalid.status, 400);
    assert.equal(invalid.json.error.code, 'definition_invalid');
    assert.equal(typeof invalid.json.error.message, 'string');
    const missing = await call('admin', 'GET', '/xstate-store/store/machines/Nothing');
    assert.equal(missing.status, 404);
    assert.equal(typeof missing.json.error.code, 'string');
  });
});
