// Node-RED loads this file; the node itself lives in the package's bundle (built from src/).
module.exports = require('../../dist/index.js').xstateChart;
