/**
 * The editor's own code for the package (built as `resources/xstate-editor.js`, loaded by
 * `nodes/xstate-chart/xstate-chart.html` before it registers the node): the chart dialog's live diagram
 * and validation, and the `xstate` sidebar tab. It defines `window.XStateEditor`. The diagram bundle
 * (`xstate-diagram.js`, with its layout engine) is loaded only when a diagram is first drawn.
 *
 * Nothing here touches the page when the script loads: the node's HTML calls `addSidebarTab()` and
 * `chartDialog(...)`, so that the pure parts (the JSON locator, the formatting) run anywhere.
 */
export { chartDialog, DEBOUNCE_MS, type ChartDialog, type ChartDialogOptions } from './chart-dialog';
export { addSidebarTab, ChartSidebar, PAGE_SIZE, DETAIL_REFRESH_MS, TAB_ID } from './chart-sidebar';
export { locate, parsePath, type Location, type PathStep } from './json-locate';
export { stateLabel, eventLabel, eventFromText, duration } from './format';
export { groupText } from './impact-panel';
