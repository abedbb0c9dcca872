'use strict';
// A Node-RED user directory with this package installed the way `npm install` in it would.
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const pkg = require(path.join(root, 'package.json'));

function linkPackage(userDir) {
  const modules = path.join(userDir, 'node_modules');
  fs.mkdirSync(modules, { recursive: true });
  const link = path.join(modules, pkg.name);
  try {
    if (fs.realpathSync(link) === root) return;
    fs.rmSync(link, { recursive: true, force: true });
  } catch {
    // not linked yet
  }
  fs.symlinkSync(root, link, 'dir');
}

module.exports = { root, pkg, linkPackage };
