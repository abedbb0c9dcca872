'use strict';
// Node-RED settings for `npm start` (passed with --settings; NODE_RED_SETTINGS=/path/to/settings.js
// uses yours instead). Everything not set here keeps Node-RED's default.
module.exports = {
  flowFile: 'flows.json',
  // No first-open prompts over the canvas: Node-RED 4.1 asks whether it may check for updates
  // (telemetry consent) and starts its welcome tour; a newcomer should see the example flow.
  telemetry: { enabled: false, updateNotification: false },
  editorTheme: { tours: false },
  logging: { console: { level: 'info', metrics: false, audit: false } },
};
