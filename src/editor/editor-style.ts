/** Styles of the edit dialog's preview and of the sidebar tab, in the editor theme's colours. */
import { injectCss } from './inject-css';

const STYLE_ID = 'xstate-editor-style';

const CSS = `
.xstate-chart-preview-header { display: flex; align-items: center; gap: 8px; margin-bottom: 4px; }
.xstate-chart-preview-header > label { width: auto !important; margin: 0; }
.xstate-chart-preview-note { flex: 1; color: var(--red-ui-secondary-text-color, #888); font-size: 12px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.xstate-diagram-scroll, .xstate-sidebar-diagram {
  overflow: auto; border: 1px solid var(--red-ui-secondary-border-color, #ddd); border-radius: 4px;
  background: var(--red-ui-secondary-background, #fff); padding: 6px; box-sizing: border-box;
}
.xstate-diagram-scroll { height: 220px; min-height: 120px; }
.xstate-diagram-scroll.xstate-stale > svg, .xstate-sidebar-diagram.xstate-stale > svg { opacity: 0.45; }
.xstate-fit > svg.xstate-diagram { max-width: 100%; height: auto; margin: 0 auto; }
.xstate-sidebar-diagram.xstate-fit > svg.xstate-diagram { width: auto; max-height: 360px; }
.xstate-validation-status, .xstate-migrate-status { font-size: 12px; margin: 4px 0 2px; min-height: 16px; }
.xstate-validation-status:before, .xstate-migrate-status:before { font-family: FontAwesome; margin-right: 5px; }
.xstate-validation-ok, .xstate-migrate-ok { color: var(--red-ui-text-color-success, #3a3); }
.xstate-validation-ok:before, .xstate-migrate-ok:before { content: "\\f00c"; }
.xstate-validation-problems, .xstate-migrate-problems { color: var(--red-ui-text-color-error, #AD1625); }
.xstate-validation-problems:before, .xstate-migrate-problems:before { content: "\\f071"; }
.xstate-validation-unavailable, .xstate-validation-pending { color: var(--red-ui-secondary-text-color, #888); }
ul.xstate-problems { list-style: none; margin: 0; padding: 0; max-height: 110px; overflow: auto;
  border: 1px solid var(--red-ui-border-color-error, #DF2935); border-radius: 4px; }
ul.xstate-problems[hidden] { display: none; }
ul.xstate-problems > li { padding: 2px 6px; font-size: 12px; line-height: 18px; border-bottom: 1px solid var(--red-ui-secondary-border-color, #ddd); }
ul.xstate-problems > li:last-child { border-bottom: none; }
ul.xstate-problems > li.xstate-problem-located { cursor: pointer; }
ul.xstate-problems > li.xstate-problem-located:hover { background: var(--red-ui-list-item-background-hover, #e6e6e6); }
.xstate-problem-path { font-size: 12px !important; margin-right: 6px !important; white-space: normal !important; word-break: break-all; }
.xstate-problem-message { color: var(--red-ui-primary-text-color, #555); }
.xstate-impact { margin-top: 6px; border: 1px solid var(--red-ui-secondary-border-color, #ddd); border-radius: 4px;
  background: var(--red-ui-secondary-background, #fff); font-size: 12px; }
.xstate-impact[hidden] { display: none; }
.xstate-impact-header { display: flex; align-items: baseline; gap: 6px; padding: 4px 8px; font-weight: 600;
  color: var(--red-ui-primary-text-color, #555); background: var(--red-ui-tertiary-background, #f7f7f7); border-radius: 4px 4px 0 0; }
.xstate-impact-title { flex: 1; min-width: 0; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.xstate-impact-summary { flex: none; font-weight: normal; color: var(--red-ui-secondary-text-color, #888); }
.xstate-impact-message { padding: 4px 8px; color: var(--red-ui-secondary-text-color, #888); }
.xstate-impact-message[hidden], ul.xstate-impact-groups[hidden] { display: none; }
ul.xstate-impact-groups { list-style: none; margin: 0; padding: 0; max-height: 132px; overflow: auto; }
ul.xstate-impact-groups > li { display: flex; gap: 7px; align-items: baseline; padding: 3px 8px; line-height: 16px;
  border-top: 1px solid var(--red-ui-secondary-border-color, #ddd); color: var(--red-ui-primary-text-color, #555); }
ul.xstate-impact-groups > li > i { flex: none; width: 12px; text-align: center; color: var(--red-ui-secondary-text-color, #888); }
ul.xstate-impact-groups > li.xstate-impact-map > i { color: var(--red-ui-node-status-colors-blue, #53A3F3); }
ul.xstate-impact-groups > li.xstate-impact-move > i, ul.xstate-impact-groups > li.xstate-impact-current > i { color: var(--red-ui-text-color-success, #3a3); }
ul.xstate-impact-groups > li.xstate-impact-warning { background: rgba(255, 207, 112, 0.22); box-shadow: inset 3px 0 0 var(--red-ui-border-color-warning, #FFCF70); }
ul.xstate-impact-groups > li.xstate-impact-warning > i { color: #C08A00; }
.xstate-impact.xstate-impact-warning { border-color: var(--red-ui-border-color-warning, #FFCF70); }
.xstate-impact.xstate-impact-pending ul.xstate-impact-groups, .xstate-impact.xstate-impact-pending .xstate-impact-message { opacity: 0.5; }
.xstate-migrate-status:empty { display: none; }
/* ace (when Node-RED is set to it) marks annotated lines only with an icon its theme may lack. */
#node-input-definition-editor .ace_gutter-cell.ace_error { color: var(--red-ui-text-color-error, #AD1625); font-weight: bold;
  box-shadow: inset 3px 0 0 var(--red-ui-text-color-error, #AD1625); }

.xstate-sidebar { position: relative; height: 100%; display: flex; flex-direction: column; overflow: hidden; }
.xstate-sidebar-header { display: flex; gap: 4px; align-items: center; padding: 6px 8px !important; height: auto !important; flex: none; }
.xstate-sidebar-header select { flex: 1; min-width: 0; margin: 0; }
.xstate-sidebar-panels { position: relative; flex: none; min-height: 0; }
.xstate-sidebar-panels-plain { display: flex; flex-direction: column; }
.xstate-sidebar-panels-plain > .xstate-charts-pane { flex: 0 0 38%; }
.xstate-sidebar-panels-plain > .xstate-detail-pane { flex: 1; }
.xstate-charts-pane { display: flex; flex-direction: column; overflow: hidden; }
.xstate-search-row { display: flex; align-items: center; gap: 6px; padding: 6px 8px; flex: none; border-bottom: 1px solid var(--red-ui-secondary-border-color, #ddd); }
.xstate-search-row > i { color: var(--red-ui-secondary-text-color, #888); }
.xstate-search-row > input { flex: 1; min-width: 0; margin: 0; height: 26px; }
ul.xstate-charts { list-style: none; margin: 0; padding: 0; flex: 1; overflow-y: auto; min-height: 40px; }
li.xstate-chart-row { display: flex; gap: 8px; align-items: baseline; padding: 3px 8px; cursor: pointer; border-bottom: 1px solid var(--red-ui-secondary-border-color, #ddd); line-height: 20px; }
li.xstate-chart-row:hover { background: var(--red-ui-list-item-background-hover, #e6e6e6); }
li.xstate-chart-row.selected { background: var(--red-ui-list-item-background-selected, #ffebc7); }
.xstate-chart-id { font-family: var(--red-ui-monospace-font, monospace); font-size: 12px; flex: none; max-width: 45%; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.xstate-chart-value { flex: 1; min-width: 0; color: var(--red-ui-secondary-text-color, #888); font-size: 12px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.xstate-chart-status { flex: none; font-size: 10px; line-height: 14px; padding: 0 5px; border-radius: 7px; border: 1px solid var(--red-ui-secondary-border-color, #ddd); color: var(--red-ui-secondary-text-color, #888); }
.xstate-status-active { border-color: var(--red-ui-node-status-colors-green, #5a8); color: var(--red-ui-node-status-colors-green, #5a8); }
.xstate-status-done { border-color: var(--red-ui-node-status-colors-blue, #53A3F3); color: var(--red-ui-node-status-colors-blue, #53A3F3); }
.xstate-status-error { border-color: var(--red-ui-node-status-colors-red, #c00); color: var(--red-ui-node-status-colors-red, #c00); }
.xstate-charts-footer { display: flex; align-items: center; gap: 6px; padding: 4px 8px; flex: none; font-size: 12px; color: var(--red-ui-secondary-text-color, #888); border-top: 1px solid var(--red-ui-secondary-border-color, #ddd); }
.xstate-charts-info { flex: 1; }
.xstate-charts-more[hidden] { display: none; }
.xstate-error { flex: none; margin: 6px 8px 0; padding: 4px 8px; font-size: 12px; cursor: pointer;
  color: var(--red-ui-text-color-error, #AD1625); border: 1px solid var(--red-ui-border-color-error, #DF2935); border-radius: 4px; background: var(--red-ui-secondary-background, #fff); }
.xstate-error[hidden] { display: none; }
.xstate-detail-pane { overflow-y: auto; }
.xstate-detail-placeholder { padding: 20px 10px; text-align: center; color: var(--red-ui-secondary-text-color, #888); font-size: 12px; }
.xstate-detail-placeholder[hidden], .xstate-chart-detail[hidden] { display: none; }
.xstate-chart-detail { padding: 8px 8px 12px; }
.xstate-chart-detail-header { display: flex; align-items: center; gap: 6px; }
.xstate-chart-title { flex: 1; font-weight: 600; font-family: var(--red-ui-monospace-font, monospace); font-size: 13px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.xstate-chart-meta { display: flex; flex-wrap: wrap; gap: 4px 10px; align-items: center; font-size: 12px; margin: 4px 0 6px; color: var(--red-ui-primary-text-color, #555); }
.xstate-meta-label { color: var(--red-ui-secondary-text-color, #888); }
.xstate-sidebar-diagram { cursor: zoom-in; max-height: 420px; }
.xstate-sidebar-diagram:not(.xstate-fit) { cursor: zoom-out; }
.xstate-send { display: flex; gap: 4px; margin-top: 8px; }
.xstate-send > input { flex: 1; min-width: 0; margin: 0; height: 28px; box-sizing: border-box; }
.xstate-send > button { height: 28px; }
.xstate-send-result { font-size: 12px; min-height: 18px; margin-top: 2px; word-break: break-word; }
.xstate-result-applied { color: var(--red-ui-text-color-success, #3a3); }
.xstate-result-error { color: var(--red-ui-text-color-error, #AD1625); }
.xstate-result-duplicate, .xstate-result-ignored { color: var(--red-ui-secondary-text-color, #888); }
.xstate-section { margin-top: 8px; }
.xstate-section-title { font-size: 11px; font-weight: 600; text-transform: uppercase; letter-spacing: 0.04em; color: var(--red-ui-secondary-text-color, #888);
  border-bottom: 1px solid var(--red-ui-secondary-border-color, #ddd); margin-bottom: 4px; }
.xstate-empty { font-size: 12px; font-style: italic; color: var(--red-ui-tertiary-text-color, #aaa); }
table.xstate-table { width: 100%; font-size: 12px; }
table.xstate-table th { text-align: left; font-weight: normal; color: var(--red-ui-secondary-text-color, #888); padding: 0 6px 0 0; }
table.xstate-table td { padding: 1px 6px 1px 0; vertical-align: top; overflow-wrap: anywhere; }
table.xstate-table td.xstate-time { white-space: nowrap; color: var(--red-ui-secondary-text-color, #888); }
.xstate-chart-context pre { font-size: 12px; margin: 0; padding: 4px; }
.xstate-loading .xstate-charts { opacity: 0.6; }
`;

export function injectEditorStyle(doc: Document): void {
  injectCss(doc, STYLE_ID, CSS);
}
