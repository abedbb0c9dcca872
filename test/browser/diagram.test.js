'use strict';
// The editor's machine diagram in a real browser: resources/xstate-diagram.js (as `npm run build`
// makes it) loaded by a plain page, laid out by ELK and drawn as SVG.
// DIAGRAM_SCREENSHOTS=docs writes PNGs of the drawings there.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { kitchen, expectedDiagram } = require('../fixtures/diagram');

const CHROMIUM = '/usr/bin/chromium';
const root = path.join(__dirname, '..', '..');
const bundle = path.join(root, 'resources', 'xstate-diagram.js');
const seed = JSON.parse(fs.readFileSync(path.join(root, 'test', 'fixtures', 'seed-marketplace.json'), 'utf8'));
const example = JSON.parse(JSON.parse(fs.readFileSync(path.join(root, 'examples', 'marketplace.json'), 'utf8')).find((node) => node.type === 'xstate-chart').definition);

const PAGE = `<!doctype html><html><head><meta charset="utf-8"><title>diagram</title>
<style>body { margin: 0; padding: 16px; background: #fff; } .case { display: inline-block; vertical-align: top; margin: 0 24px 24px 0; }</style>
<script src="/xstate-diagram.js"></script></head><body></body></html>`;

function serve() {
  const server = http.createServer((req, res) => {
    if (req.url === '/') res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
    else if (req.url === '/xstate-diagram.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(fs.readFileSync(bundle));
    else res.writeHead(req.url === '/favicon.ico' ? 204 : 404).end();
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** Renders a definition into a new container; returns what the page drew. */
async function draw(page, name, definition) {
  return page.evaluate(
    async ({ name, definition }) => {
      const container = document.createElement('div');
      container.className = 'case';
      container.id = name;
      document.body.appendChild(container);
      window.diagrams = window.diagrams || {};
      window.diagrams[name] = await window.XStateDiagram.render(container, definition);
      const svg = container.querySelector('svg.xstate-diagram');
      return {
        states: Array.from(svg.querySelectorAll('[data-state]'), (g) => g.getAttribute('data-state')),
        transitions: Array.from(svg.querySelectorAll('[data-transition]'), (g) => ({
          key: g.getAttribute('data-transition'),
          label: g.querySelector('.xstate-label')?.textContent,
          edges: g.querySelectorAll('path.xstate-edge').length,
          arrows: Array.from(g.querySelectorAll('path.xstate-edge'), (p) => p.getAttribute('marker-end')),
          unresolved: g.classList.contains('unresolved'),
        })),
      };
    },
    { name, definition },
  );
}

/** Every state's shape box and its parent state's shape box, in SVG units. */
async function boxes(page, name) {
  return page.evaluate((name) => {
    const box = (g) => {
      const { x, y, width, height } = g.querySelector(':scope > .xstate-shape').getBBox();
      return { x, y, width, height };
    };
    return Array.from(document.querySelectorAll(`#${name} [data-state]`), (g) => {
      const parent = g.parentElement.closest('[data-state]');
      return { path: g.getAttribute('data-state'), box: box(g), parent: parent && { path: parent.getAttribute('data-state'), box: box(parent) } };
    });
  }, name);
}

async function activeStates(page, name) {
  return page.evaluate((name) => Array.from(document.querySelectorAll(`#${name} [data-state].active`), (g) => g.getAttribute('data-state')).sort(), name);
}

function assertCounts(drawn, definition) {
  const expected = expectedDiagram(definition);
  assert.deepEqual([...drawn.states].sort(), [...expected.states].sort(), 'one <g data-state> per state, the root ""');
  assert.deepEqual(drawn.transitions.map((t) => t.key).sort(), [...expected.transitions].sort(), 'one <g data-transition> per transition');
  for (const t of drawn.transitions) {
    assert.ok(t.edges >= 1, `${t.key} has an edge`);
    assert.ok(t.arrows.every((marker) => /^url\(#.+\)$/.test(marker)), `${t.key}'s edges end in arrowheads`);
    assert.ok(t.label && t.label.startsWith(t.key.slice(t.key.indexOf(':') + 1)), `${t.key} is labelled with its event, got ${t.label}`);
  }
}

function assertNested(list) {
  for (const { path: child, box, parent } of list) {
    if (!parent) continue;
    const inside =
      box.x >= parent.box.x && box.y >= parent.box.y && box.x + box.width <= parent.box.x + parent.box.width && box.y + box.height <= parent.box.y + parent.box.height;
    assert.ok(inside, `"${child}" ${JSON.stringify(box)} lies inside "${parent.path}" ${JSON.stringify(parent.box)}`);
  }
}

describe('editor diagram in a browser', function () {
  this.timeout(60000);
  let chromium;
  let browser;
  let server;
  let page;
  const errors = [];

  before(async function () {
    if (!fs.existsSync(CHROMIUM)) {
      console.log(`      skipped: ${CHROMIUM} is missing (apt-get install -y chromium; .ci/run installs it)`);
      this.skip();
    }
    ({ chromium } = require('playwright-core'));
    server = await serve();
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.on('pageerror', (err) => errors.push(err.message));
    page.on('console', (msg) => msg.type() === 'error' && errors.push(msg.text()));
    await page.goto(`http://127.0.0.1:${server.address().port}/`);
  });

  after(async () => {
    await browser?.close();
    await new Promise((resolve) => (server ? server.close(resolve) : resolve()));
  });

  afterEach(function () {
    if (this.currentTest.state !== 'failed') assert.deepEqual(errors.splice(0), [], 'no errors in the page');
  });

  async function screenshot(name) {
    const dir = process.env.DIAGRAM_SCREENSHOTS;
    if (!dir) return;
    fs.mkdirSync(path.resolve(root, dir), { recursive: true });
    await page.locator(`#${name} svg.xstate-diagram`).screenshot({ path: path.resolve(root, dir, `diagram-${name}.png`) });
  }

  it('draws the seed chart: its states and transitions, the unresolved #MarketPlace target as a dangling arrow', async () => {
    const drawn = await draw(page, 'seed', seed);
    assertCounts(drawn, seed);
    assert.equal(drawn.states.length, 6);
    assert.equal(drawn.transitions.length, 3);
    const agree = drawn.transitions.find((t) => t.key === 'Negotiate.Propose:agree');
    assert.equal(agree.unresolved, true);
    assert.ok(agree.arrows[0]);
    assert.ok(drawn.transitions.filter((t) => t.key !== 'Negotiate.Propose:agree').every((t) => !t.unresolved));
    const target = await page.locator('#seed [data-transition="Negotiate.Propose:agree"] .xstate-unresolved-target').textContent();
    assert.equal(target, '#MarketPlace.Perform.Initiate');
    assertNested(await boxes(page, 'seed'));
    await screenshot('seed');
  });

  it("draws the example flow's chart: initial dots, the final state ringed, setActive moves the active class", async () => {
    const drawn = await draw(page, 'marketplace', example);
    assertCounts(drawn, example);
    assert.ok(drawn.transitions.every((t) => !t.unresolved));
    const counts = await page.evaluate(() => ({
      initials: document.querySelectorAll('#marketplace .xstate-initial circle').length,
      initialArrows: document.querySelectorAll('#marketplace .xstate-initial path[marker-end]').length,
      rings: document.querySelectorAll('#marketplace [data-state="Negotiate.Reject"].xstate-final > rect').length,
    }));
    assert.deepEqual(counts, { initials: 3, initialArrows: 3, rings: 2 }, 'initial dots with arrows on the root, Negotiate and Perform; Reject has a double border');
    assertNested(await boxes(page, 'marketplace'));
    await screenshot('marketplace');

    await page.evaluate(() => window.diagrams.marketplace.setActive({ Negotiate: 'Propose' }));
    assert.deepEqual(await activeStates(page, 'marketplace'), ['', 'Negotiate', 'Negotiate.Propose']);
    const before = await page.evaluate(() => document.querySelector('#marketplace [data-state="Perform"] > rect').getAttribute('x'));
    await page.evaluate(() => window.diagrams.marketplace.setActive({ Perform: 'Initiate' }));
    assert.deepEqual(await activeStates(page, 'marketplace'), ['', 'Perform', 'Perform.Initiate']);
    const after = await page.evaluate(() => document.querySelector('#marketplace [data-state="Perform"] > rect').getAttribute('x'));
    assert.equal(after, before, 'no relayout');
    await page.evaluate(() => window.diagrams.marketplace.setActive(null));
    assert.deepEqual(await activeStates(page, 'marketplace'), []);
  });

  it('draws parallel regions, deep history, after and always, onDone, several targets and a self-loop', async () => {
    const drawn = await draw(page, 'kitchen', kitchen);
    assertCounts(drawn, kitchen);
    const labels = drawn.transitions.map((t) => t.label);
    for (const label of ['after 2s', 'after PT5M', 'after 1.5s', 'always [expr]', 'always', 'onDone', 'order [expr]', 'order', 'burn', 'restart', 'ping']) {
      assert.ok(labels.includes(label), `label "${label}" in ${JSON.stringify(labels)}`);
    }
    assert.equal(drawn.transitions.filter((t) => t.key === 'Serving:always').length, 2, 'a guarded array: one <g> per entry');
    assert.equal(drawn.transitions.find((t) => t.key === 'Cooking:restart').edges, 2, 'two targets, two edges in one <g>');
    assert.ok(drawn.transitions.every((t) => !t.unresolved));
    const marks = await page.evaluate(() => ({
      history: document.querySelector('#kitchen [data-state="Cooking.hist"] .xstate-history-mark').textContent,
      historyShape: document.querySelector('#kitchen [data-state="Cooking.hist"] > .xstate-shape').tagName,
      regions: document.querySelectorAll('#kitchen [data-state="Cooking"] > .xstate-region').length,
      finals: document.querySelectorAll('#kitchen .xstate-final').length,
    }));
    assert.deepEqual(marks, { history: 'H*', historyShape: 'circle', regions: 2, finals: 3 });
    assertNested(await boxes(page, 'kitchen'));
    await screenshot('kitchen');

    await page.evaluate(() => window.diagrams.kitchen.setActive({ Cooking: { Oven: 'Baking', Plates: 'Full' } }));
    assert.deepEqual(await activeStates(page, 'kitchen'), ['', 'Cooking', 'Cooking.Oven', 'Cooking.Oven.Baking', 'Cooking.Plates', 'Cooking.Plates.Full']);
    await page.evaluate(() => window.diagrams.kitchen.setActive('Idle'));
    assert.deepEqual(await activeStates(page, 'kitchen'), ['', 'Idle']);
  });

  it('draws whatever a half-typed definition holds, as JSON text too, and a newer render replaces the diagram', async () => {
    const result = await page.evaluate(async () => {
      const container = document.createElement('div');
      document.body.appendChild(container);
      const typed = [
        '{ "id": "m", "initial": "a", "states": { "a": { "on": { "go": "b" } }, "b": { "on": { "back": ',
        { id: 'm', initial: 'a', states: { a: { on: { go: 'nowhere', '*': { target: 'a' } } }, b: null, c: { states: 'oops', after: { grace: 'a' } } } },
        { states: { x: { type: 'history' } } },
        [],
      ];
      const drawn = [];
      for (const definition of typed) {
        const handle = await window.XStateDiagram.render(container, definition);
        drawn.push({
          svgs: container.querySelectorAll('svg.xstate-diagram').length,
          states: handle.svg.querySelectorAll('[data-state]').length,
          transitions: Array.from(handle.svg.querySelectorAll('[data-transition]'), (g) => g.getAttribute('data-transition')),
        });
      }
      // An ELK option that makes ELK 0.12 fail on nested graphs: the states are still drawn.
      const failed = await window.XStateDiagram.render(container, typed[1], { layoutOptions: { 'elk.layered.considerModelOrder.strategy': 'NODES_AND_EDGES' } });
      drawn.push({
        failed: failed.svg.classList.contains('xstate-layout-failed'),
        states: failed.svg.querySelectorAll('[data-state] > .xstate-shape').length,
        transitions: failed.svg.querySelectorAll('[data-transition]').length,
        edges: failed.svg.querySelectorAll('[data-transition] path').length,
      });
      const first = window.XStateDiagram.render(container, { id: 'first', initial: 'a', states: { a: {} } });
      const second = window.XStateDiagram.render(container, { id: 'second', initial: 'b', states: { b: {} } });
      await Promise.all([first, second]);
      drawn.push(Array.from(container.querySelectorAll('svg.xstate-diagram [data-state]'), (g) => g.getAttribute('data-state')));
      (await second).destroy();
      drawn.push(container.querySelectorAll('svg').length);
      container.remove();
      return drawn;
    });
    assert.deepEqual(result[0], { svgs: 1, states: 1, transitions: [] }, 'unparsable JSON text: the root alone');
    assert.deepEqual(result[1], { svgs: 1, states: 4, transitions: ['a:go', 'a:*', 'c:after grace'] });
    assert.deepEqual(result[2], { svgs: 1, states: 2, transitions: [] });
    assert.deepEqual(result[3], { svgs: 1, states: 1, transitions: [] });
    assert.deepEqual(result[4], { failed: true, states: 4, transitions: 3, edges: 0 }, 'a failed layout: the states without transitions');
    assert.deepEqual(result[5], ['', 'b'], 'the later render wins');
    assert.equal(result[6], 0, 'destroy removes the diagram');
  });
});
