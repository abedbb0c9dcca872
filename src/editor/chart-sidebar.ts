/**
 * The editor's sidebar tab `xstate`: pick a deployed `xstate-chart` node, browse its charts (searched
 * by chartId prefix, a page at a time: a store may hold millions), and for one chart see its diagram
 * with the active states marked, its context, pending timers and last transitions; send it an event or
 * delete it. Live: the runtime publishes `xstate-chart/{nodeId}/{chartId}` over Node-RED's comms
 * (throttled per chart); the selected chart's diagram follows at once, its details at most once a
 * second, and listed rows update in place. A transition committed by another process (several
 * Node-RED processes on one store behind a shared subscription) reaches this runtime's comms only
 * through the store: while the tab is shown, the selected chart is read again when no update came
 * for 2 s, and the listed rows every 5 s.
 */
import { api, ApiError, type ChartDetail, type ChartRow } from './api';
import { injectEditorStyle } from './editor-style';
import { clock, duration, eventFromText, eventLabel, stateLabel, toDate } from './format';
import { diagramLib, editorWindow, h, t, translated, type DiagramHandle, type EditorNode } from './red';

export const TAB_ID = 'xstate';
/** Charts asked for per page. */
export const PAGE_SIZE = 100;
/** The selected chart's details are fetched again at most this often while updates arrive. */
export const DETAIL_REFRESH_MS = 1000;
/** The selected chart, shown, is read again this long after the last read when no update came. */
export const DETAIL_POLL_MS = 2000;
/** The listed rows, shown, are read again this often (what other processes committed). */
export const ROWS_POLL_MS = 5000;
const SEARCH_DEBOUNCE_MS = 250;
const SHOWN_TRANSITIONS = 20;

interface Row {
  chart: ChartRow;
  item: HTMLLIElement;
}

type Handler = (topic: string, data: unknown) => void;

function button(className: string, icon: string, label?: string, title?: string): HTMLButtonElement {
  const b = h('button', { class: `red-ui-button red-ui-button-small ${className}`, attrs: { type: 'button' } }, h('i', { class: `fa ${icon}` }));
  if (label) b.appendChild(document.createTextNode(` ${label}`));
  if (title) b.title = title;
  return b;
}

/** A chart status (`active`, `done`, `error`, `stopped`) in the catalog's words; an unknown one as it is. */
function statusText(status: string): string {
  return translated(`status.${status}`, status);
}

function nodeLabel(node: EditorNode): string {
  if (node.name) return node.name;
  const label = node._def?.label;
  try {
    if (typeof label === 'function') return label.call(node) || node.id;
    if (typeof label === 'string') return label;
  } catch {
    // the node's own label function failed: its id then
  }
  return node.id;
}

export class ChartSidebar {
  readonly content: HTMLDivElement;
  private readonly select: HTMLSelectElement;
  private readonly search: HTMLInputElement;
  private readonly list: HTMLUListElement;
  private readonly listInfo: HTMLElement;
  private readonly more: HTMLButtonElement;
  private readonly errorBar: HTMLElement;
  private readonly detail: HTMLElement;
  private readonly placeholder: HTMLElement;
  private readonly detailTitle: HTMLElement;
  private readonly detailMeta: HTMLElement;
  private readonly diagramBox: HTMLElement;
  private readonly eventInput: HTMLInputElement;
  private readonly sendButton: HTMLButtonElement;
  private readonly sendResult: HTMLElement;
  private readonly deleteButton: HTMLButtonElement;
  private readonly contextBox: HTMLElement;
  private readonly timersBox: HTMLElement;
  private readonly transitionsBox: HTMLElement;

  private readonly panels: HTMLElement;
  private readonly header: HTMLElement;
  private split: { ratio(value?: number): number; resize(size: number): void } | undefined;
  private splitRatioSet = false;
  private nodeId: string | undefined;
  private subscription: { topic: string; handler: Handler } | undefined;
  /** Chart node ids running in the runtime: those of the flows last loaded or deployed. */
  private deployed = new Set<string>();
  private nodesSignature = '';
  private rows = new Map<string, Row>();
  private next: string | null = null;
  private listGeneration = 0;
  private selected: string | undefined;
  private current: ChartDetail | undefined;
  private handle: DiagramHandle | undefined;
  private drawnMachine: string | undefined;
  private detailGeneration = 0;
  private lastDetailAt = 0;
  private detailTimer: ReturnType<typeof setTimeout> | undefined;
  private pollTimer: ReturnType<typeof setInterval> | undefined;
  private lastRowsAt = 0;
  private refreshingRows = false;
  private searchTimer: ReturnType<typeof setTimeout> | undefined;

  constructor() {
    injectEditorStyle(document);
    this.select = h('select', { class: 'xstate-node-select', attrs: { 'aria-label': t('sidebar.pickNode') } });
    const refresh = button('xstate-refresh', 'fa-refresh', undefined, t('sidebar.refresh'));
    this.search = h('input', { class: 'xstate-chart-search', attrs: { type: 'text', placeholder: t('sidebar.searchPlaceholder'), 'aria-label': t('sidebar.searchPlaceholder') } });
    this.list = h('ul', { class: 'xstate-charts', attrs: { role: 'listbox' } });
    this.listInfo = h('span', { class: 'xstate-charts-info' });
    this.more = button('xstate-charts-more', 'fa-angle-double-down', t('sidebar.more'));
    this.errorBar = h('div', { class: 'xstate-error', attrs: { role: 'alert' } });
    this.errorBar.hidden = true;

    this.detailTitle = h('span', { class: 'xstate-chart-title' });
    this.detailMeta = h('div', { class: 'xstate-chart-meta' });
    this.deleteButton = button('xstate-delete-chart', 'fa-trash', t('sidebar.delete'), t('sidebar.deleteTitle'));
    this.diagramBox = h('div', { class: 'xstate-sidebar-diagram xstate-fit', attrs: { title: t('sidebar.diagramToggle') } });
    this.eventInput = h('input', { class: 'xstate-event-input', attrs: { type: 'text', placeholder: t('sidebar.eventPlaceholder'), 'aria-label': t('sidebar.eventPlaceholder') } });
    this.sendButton = button('xstate-send-event', 'fa-paper-plane', t('sidebar.send'));
    this.sendResult = h('div', { class: 'xstate-send-result' });
    this.contextBox = h('div', { class: 'xstate-chart-context' });
    this.timersBox = h('div', { class: 'xstate-chart-timers' });
    this.transitionsBox = h('div', { class: 'xstate-chart-transitions' });

    const section = (title: string, body: HTMLElement) => h('div', { class: 'xstate-section' }, h('div', { class: 'xstate-section-title', text: title }), body);
    const canWrite = this.canWrite();
    this.detail = h(
      'div',
      { class: 'xstate-chart-detail' },
      h('div', { class: 'xstate-chart-detail-header' }, this.detailTitle, canWrite && this.deleteButton),
      this.detailMeta,
      this.diagramBox,
      canWrite && h('div', { class: 'xstate-send' }, this.eventInput, this.sendButton),
      canWrite && this.sendResult,
      section(t('sidebar.context'), this.contextBox),
      section(t('sidebar.timers'), this.timersBox),
      section(t('sidebar.transitions'), this.transitionsBox),
    );
    this.detail.hidden = true;
    this.placeholder = h('div', { class: 'xstate-detail-placeholder', text: t('sidebar.pickChart') });

    const listPane = h(
      'div',
      { class: 'xstate-charts-pane' },
      h('div', { class: 'xstate-search-row' }, h('i', { class: 'fa fa-search' }), this.search),
      this.list,
      h('div', { class: 'xstate-charts-footer' }, this.listInfo, this.more),
    );
    const detailPane = h('div', { class: 'xstate-detail-pane' }, this.placeholder, this.detail);
    const panels = h('div', { class: 'xstate-sidebar-panels' }, listPane, detailPane);
    this.content = h(
      'div',
      { class: 'xstate-sidebar' },
      h('div', { class: 'red-ui-sidebar-header xstate-sidebar-header' }, this.select, refresh),
      this.errorBar,
      panels,
    );
    this.panels = panels;
    this.header = this.content.firstElementChild as HTMLElement;
    const red = editorWindow().RED;
    try {
      // A draggable split between the list and the chart, as the help and info tabs have.
      this.split = red.panels?.create({ container: editorWindow().$(panels) });
    } catch {
      this.split = undefined;
    }
    if (!this.split) panels.classList.add('xstate-sidebar-panels-plain');

    this.select.addEventListener('change', () => this.pick(this.select.value || undefined));
    refresh.addEventListener('click', () => {
      this.fillNodes();
      if (this.nodeId) void this.loadPage(true);
      if (this.selected) void this.loadDetail(this.selected);
    });
    this.search.addEventListener('input', () => {
      clearTimeout(this.searchTimer);
      this.searchTimer = setTimeout(() => void this.loadPage(true), SEARCH_DEBOUNCE_MS);
    });
    this.more.addEventListener('click', () => void this.loadPage(false));
    this.sendButton.addEventListener('click', () => void this.send());
    this.eventInput.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') {
        e.preventDefault();
        void this.send();
      }
    });
    this.deleteButton.addEventListener('click', () => this.confirmDelete());
    this.diagramBox.addEventListener('click', () => this.diagramBox.classList.toggle('xstate-fit'));
    this.errorBar.addEventListener('click', () => this.hideError());
    this.showList();
  }

  /** Sizes the list and the chart to the sidebar (when shown, and when the sidebar or window resizes). */
  layout(): void {
    const total = this.content.clientHeight;
    if (!total) return;
    const error = this.errorBar.hidden ? 0 : this.errorBar.offsetHeight + 6;
    const size = Math.max(120, total - this.header.offsetHeight - error);
    this.panels.style.height = `${size}px`;
    if (!this.split) return;
    if (!this.splitRatioSet) {
      this.splitRatioSet = true;
      this.split.ratio(0.3);
    } else this.split.resize(size);
  }

  private canWrite(): boolean {
    const user = editorWindow().RED.user;
    return !user || user.hasPermission('xstate.write');
  }

  /** Takes the chart nodes of the flows as they are now as the ones running (after a load or deploy). */
  markDeployed(): void {
    this.deployed = new Set();
    editorWindow().RED.nodes.eachNode((node) => {
      if (node.type === 'xstate-chart' || node.type.startsWith('subflow:')) this.deployed.add(node.id);
    });
    this.fillNodes();
  }

  /**
   * The select: the deployed, enabled chart nodes, by label, with the flow they are on. A chart node
   * inside a subflow runs once per instance of it on a flow, under the id Node-RED (3.1 and later)
   * gives a node of an instance: `{instance id}-{node id}`; instances inside other subflows are left out.
   */
  fillNodes(): void {
    const red = editorWindow().RED;
    const nodes: { id: string; label: string }[] = [];
    const onFlow = (node: EditorNode) => {
      const flow = node.z ? red.nodes.workspace(node.z) : null;
      return flow && !flow.disabled ? flow : null;
    };
    const withFlow = (label: string, flow: { label?: string }) => (flow.label ? `${label} — ${flow.label}` : label);
    red.nodes.eachNode((node) => {
      if (node.type !== 'xstate-chart' || !this.deployed.has(node.id) || node.d) return;
      const flow = onFlow(node);
      if (flow) {
        nodes.push({ id: node.id, label: withFlow(nodeLabel(node), flow) });
        return;
      }
      const subflow = node.z ? red.nodes.subflow(node.z) : null;
      if (!subflow) return;
      red.nodes.eachNode((instance) => {
        const instanceFlow = instance.type === `subflow:${subflow.id}` && this.deployed.has(instance.id) && !instance.d ? onFlow(instance) : null;
        if (instanceFlow) nodes.push({ id: `${instance.id}-${node.id}`, label: withFlow(`${nodeLabel(node)} (${instance.name || subflow.name || instance.id})`, instanceFlow) });
      });
    });
    nodes.sort((a, b) => a.label.localeCompare(b.label));
    const signature = JSON.stringify(nodes);
    if (signature === this.nodesSignature) return;
    this.nodesSignature = signature;
    this.select.textContent = '';
    this.select.appendChild(h('option', { text: nodes.length ? t('sidebar.pickNode') : t('sidebar.noNodes'), attrs: { value: '' } }));
    for (const node of nodes) this.select.appendChild(h('option', { text: node.label, attrs: { value: node.id } }));
    if (this.nodeId && nodes.some((node) => node.id === this.nodeId)) this.select.value = this.nodeId;
    else if (this.nodeId) this.pick(undefined);
  }

  /** Shows the charts of a chart node and follows their updates; undefined: none. */
  pick(nodeId: string | undefined): void {
    if (nodeId === this.nodeId) return;
    // The new node's first page is loaded for the search field as it is: a search still waiting
    // for its debounce would reload it later, dropping a page the user had asked for meanwhile.
    clearTimeout(this.searchTimer);
    const red = editorWindow().RED;
    if (this.subscription) red.comms.unsubscribe(this.subscription.topic, this.subscription.handler);
    this.subscription = undefined;
    this.nodeId = nodeId;
    this.select.value = nodeId ?? '';
    this.selectChart(undefined);
    this.rows.clear();
    this.list.textContent = '';
    this.next = null;
    this.hideError();
    this.followStore(nodeId !== undefined);
    if (nodeId) {
      const handler: Handler = (_topic, data) => this.onUpdate(data);
      this.subscription = { topic: `xstate-chart/${nodeId}/#`, handler };
      red.comms.subscribe(this.subscription.topic, handler);
      void this.loadPage(true);
    } else this.showList();
  }

  private showError(message: string): void {
    this.errorBar.textContent = '';
    this.errorBar.append(h('i', { class: 'fa fa-exclamation-triangle' }), document.createTextNode(` ${message}`));
    this.errorBar.hidden = false;
    this.layout();
  }

  private hideError(): void {
    if (this.errorBar.hidden) return;
    this.errorBar.hidden = true;
    this.layout();
  }

  private showList(): void {
    this.more.hidden = !this.next;
    if (!this.nodeId) this.listInfo.textContent = t('sidebar.pickNodeFirst');
    else if (!this.rows.size) this.listInfo.textContent = this.search.value ? t('sidebar.noMatch', { prefix: this.search.value }) : t('sidebar.noCharts');
    else this.listInfo.textContent = t(this.next ? 'sidebar.shownMore' : 'sidebar.shown', { count: this.rows.size });
  }

  /** The first page (`reset`) or the next one, for the search field's prefix. */
  async loadPage(reset: boolean): Promise<void> {
    const nodeId = this.nodeId;
    if (!nodeId) return;
    const mine = ++this.listGeneration;
    const after = reset ? null : this.next;
    if (!reset && !after) return;
    this.more.disabled = true;
    this.content.classList.add('xstate-loading');
    try {
      const page = await api.charts(nodeId, { prefix: this.search.value.trim(), after, limit: PAGE_SIZE });
      if (mine !== this.listGeneration || nodeId !== this.nodeId) return;
      if (reset) {
        this.rows.clear();
        this.list.textContent = '';
      }
      for (const chart of page.charts ?? []) this.addRow(chart);
      this.next = page.next ?? null;
      this.lastRowsAt = Date.now();
      this.hideError();
    } catch (err) {
      if (mine !== this.listGeneration) return;
      if (reset) {
        this.rows.clear();
        this.list.textContent = '';
        this.next = null;
      }
      this.showError(t('sidebar.listFailed', { message: (err as Error).message }));
    } finally {
      if (mine === this.listGeneration) {
        this.more.disabled = false;
        this.content.classList.remove('xstate-loading');
        this.showList();
      }
    }
  }

  private addRow(chart: ChartRow): void {
    const existing = this.rows.get(chart.chartId);
    if (existing) {
      existing.chart = chart;
      this.renderRow(existing);
      return;
    }
    const item = h('li', { class: 'xstate-chart-row', attrs: { 'data-chart-id': chart.chartId, role: 'option', tabindex: '0' } });
    const row: Row = { chart, item };
    item.addEventListener('click', () => this.selectChart(chart.chartId));
    item.addEventListener('keydown', (e) => e.key === 'Enter' && this.selectChart(chart.chartId));
    this.rows.set(chart.chartId, row);
    this.renderRow(row);
    this.list.appendChild(item);
  }

  private renderRow({ chart, item }: Row): void {
    item.textContent = '';
    item.classList.toggle('selected', chart.chartId === this.selected);
    item.append(
      h('span', { class: 'xstate-chart-id', text: chart.chartId }),
      h('span', { class: 'xstate-chart-value', text: stateLabel(chart.value) }),
      h('span', { class: `xstate-chart-status xstate-status-${chart.status}`, text: statusText(chart.status) }),
    );
    item.title = t('sidebar.rowTitle', { seq: chart.seq, version: chart.version, updated: this.when(chart.updatedAt) });
  }

  private when(value: unknown): string {
    const date = toDate(value);
    return date ? clock(date) : '';
  }

  /** A comms message `{ chartId, value, status, seq, version, updatedAt }` of the picked node. */
  private onUpdate(data: unknown): void {
    const update = data as ChartRow | undefined;
    if (!update || typeof update.chartId !== 'string') return;
    const row = this.rows.get(update.chartId);
    if (row && !(typeof row.chart.seq === 'number' && update.seq < row.chart.seq)) {
      row.chart = { ...row.chart, ...update };
      this.renderRow(row);
    }
    if (update.chartId !== this.selected) return;
    const shownSeq = this.current?.state.metadata?.seq;
    if (typeof shownSeq === 'number' && typeof update.seq === 'number' && update.seq < shownSeq) return;
    if (this.handle && this.drawnMachine === `${this.current?.machine?.id}@${update.version}`) this.handle.setActive(update.value);
    this.renderMeta({ status: update.status, seq: update.seq, version: update.version, updatedAt: update.updatedAt });
    this.scheduleDetail();
  }

  /** Fetches the selected chart's details again, at most once per DETAIL_REFRESH_MS. */
  private scheduleDetail(): void {
    if (this.detailTimer || !this.selected) return;
    const wait = Math.max(0, this.lastDetailAt + DETAIL_REFRESH_MS - Date.now());
    this.detailTimer = setTimeout(() => {
      this.detailTimer = undefined;
      if (this.selected) void this.loadDetail(this.selected);
    }, wait);
  }

  selectChart(chartId: string | undefined): void {
    const previous = this.selected;
    this.selected = chartId;
    if (previous) this.rows.get(previous)?.item.classList.remove('selected');
    if (chartId) this.rows.get(chartId)?.item.classList.add('selected');
    if (chartId === previous && chartId) return;
    clearTimeout(this.detailTimer);
    this.detailTimer = undefined;
    this.current = undefined;
    this.sendResult.textContent = '';
    this.detail.hidden = !chartId;
    this.placeholder.hidden = !!chartId;
    if (!chartId) {
      this.handle?.destroy();
      this.handle = undefined;
      this.drawnMachine = undefined;
      return;
    }
    this.detailTitle.textContent = chartId;
    this.detailMeta.textContent = '';
    this.contextBox.textContent = '';
    this.timersBox.textContent = '';
    this.transitionsBox.textContent = '';
    void this.loadDetail(chartId);
  }

  /**
   * While a node is picked and the tab is shown, looks at the store for what another process
   * committed: the selected chart when DETAIL_POLL_MS passed since its last read (live updates keep
   * that recent, so under load this adds nothing), the listed rows every ROWS_POLL_MS.
   */
  private followStore(on: boolean): void {
    if (!on) {
      clearInterval(this.pollTimer);
      this.pollTimer = undefined;
      return;
    }
    this.pollTimer ??= setInterval(() => {
      if (!this.content.isConnected || this.content.offsetParent === null) return;
      const now = Date.now();
      if (this.selected && !this.detailTimer && now - this.lastDetailAt >= DETAIL_POLL_MS) void this.loadDetail(this.selected, true);
      if (this.rows.size > 0 && !this.refreshingRows && now - this.lastRowsAt >= ROWS_POLL_MS) void this.refreshRows();
    }, DETAIL_POLL_MS / 4);
  }

  /** Reads the listed rows' charts again (the first rows of the search, as listed) and updates those that moved. */
  private async refreshRows(): Promise<void> {
    const nodeId = this.nodeId;
    if (!nodeId) return;
    const generation = this.listGeneration;
    this.refreshingRows = true;
    this.lastRowsAt = Date.now();
    try {
      const page = await api.charts(nodeId, { prefix: this.search.value.trim(), after: null, limit: Math.min(this.rows.size, 500) });
      if (generation !== this.listGeneration || nodeId !== this.nodeId) return;
      for (const chart of page.charts ?? []) {
        const row = this.rows.get(chart.chartId);
        if (row && typeof chart.seq === 'number' && chart.seq > row.chart.seq) {
          row.chart = chart;
          this.renderRow(row);
        }
      }
    } catch {
      // Looked at again at the next turn; a list that cannot be read says so when it is loaded.
    } finally {
      this.refreshingRows = false;
    }
  }

  /** Reads the chart and shows it; `ifMoved`: only when its seq is not the one shown (a poll). */
  async loadDetail(chartId: string, ifMoved = false): Promise<void> {
    const nodeId = this.nodeId;
    if (!nodeId) return;
    const mine = ++this.detailGeneration;
    this.lastDetailAt = Date.now();
    try {
      const detail = await api.chart(nodeId, chartId);
      if (mine !== this.detailGeneration || chartId !== this.selected) return;
      if (ifMoved && this.current && detail.state.metadata?.seq === this.current.state.metadata?.seq) return;
      this.current = detail;
      this.hideError();
      this.renderDetail(detail);
    } catch (err) {
      if (mine !== this.detailGeneration || chartId !== this.selected) return;
      if (err instanceof ApiError && err.code === 'unknown_chart') return this.gone(chartId);
      this.showError(t('sidebar.detailFailed', { chartId, message: (err as Error).message }));
    }
  }

  /** The chart is no longer in the store (deleted elsewhere): its row and details go. */
  private gone(chartId: string): void {
    this.dropRow(chartId);
    editorWindow().RED.notify(t('sidebar.gone', { chartId }), { type: 'warning', timeout: 5000 });
  }

  /** Takes a deleted chart off the list, and its details if it was selected. */
  private dropRow(chartId: string): void {
    this.rows.get(chartId)?.item.remove();
    this.rows.delete(chartId);
    if (this.selected === chartId) this.selectChart(undefined);
    this.showList();
  }

  private renderMeta(meta: { status?: string; seq?: number; version?: number; updatedAt?: unknown }): void {
    this.detailMeta.textContent = '';
    const add = (label: string, value: unknown, className: string) => {
      if (value === undefined || value === null || value === '') return;
      this.detailMeta.append(h('span', { class: className }, h('span', { class: 'xstate-meta-label', text: label }), document.createTextNode(` ${String(value)}`)));
    };
    if (meta.status) this.detailMeta.append(h('span', { class: `xstate-chart-status xstate-status-${meta.status}`, text: statusText(meta.status) }));
    add(t('sidebar.seq'), meta.seq, 'xstate-meta-seq');
    add(t('sidebar.version'), meta.version, 'xstate-meta-version');
    add(t('sidebar.updated'), this.when(meta.updatedAt), 'xstate-meta-updated');
  }

  private renderDetail(detail: ChartDetail): void {
    const { state } = detail;
    const machine = detail.machine;
    this.renderMeta({ status: state.status, seq: state.metadata?.seq, version: machine?.version ?? state.machine?.version, updatedAt: state.metadata?.timestamp });
    const row = this.rows.get(state.chartId);
    if (row && typeof state.metadata?.seq === 'number' && state.metadata.seq >= row.chart.seq) {
      row.chart = { ...row.chart, value: state.value, status: state.status ?? row.chart.status, seq: state.metadata.seq };
      this.renderRow(row);
    }
    void this.drawDiagram(detail);
    this.renderContext(state.context);
    this.renderTimers(detail.timers ?? []);
    this.renderTransitions(detail.transitions ?? []);
  }

  private async drawDiagram(detail: ChartDetail): Promise<void> {
    const machine = detail.machine;
    if (!machine) return;
    const key = `${machine.id}@${machine.version}`;
    if (this.handle && this.drawnMachine === key) {
      this.handle.setActive(detail.state.value);
      return;
    }
    try {
      const lib = await diagramLib();
      const handle = await lib.render(this.diagramBox, machine.definition, { active: detail.state.value });
      if (detail !== this.current) return;
      this.handle = handle;
      this.drawnMachine = key;
      // An update may have come while the layout ran.
      handle.setActive(this.rows.get(detail.state.chartId)?.chart.value ?? detail.state.value);
    } catch (err) {
      this.showError(t('sidebar.diagramFailed', { message: (err as Error).message }));
    }
  }

  private renderContext(context: unknown): void {
    this.contextBox.textContent = '';
    const utils = editorWindow().RED.utils;
    if (context === undefined) {
      this.contextBox.appendChild(h('span', { class: 'xstate-empty', text: t('sidebar.noContext') }));
      return;
    }
    if (utils?.createObjectElement) {
      try {
        const element = utils.createObjectElement(context, { key: null, path: '', rootPath: '', expandPaths: [''] });
        this.contextBox.appendChild(element[0]);
        return;
      } catch {
        // plain JSON below
      }
    }
    this.contextBox.appendChild(h('pre', { text: JSON.stringify(context, null, 2) }));
  }

  private renderTimers(timers: ChartDetail['timers']): void {
    this.timersBox.textContent = '';
    if (!timers.length) {
      this.timersBox.appendChild(h('span', { class: 'xstate-empty', text: t('sidebar.noTimers') }));
      return;
    }
    const now = Date.now();
    const table = h('table', { class: 'xstate-table' }, h('thead', {}, h('tr', {}, h('th', { text: t('sidebar.timerEvent') }), h('th', { text: t('sidebar.timerDue') }))));
    const body = h('tbody');
    for (const timer of timers) {
      const due = toDate(timer.dueAt);
      const relative = due ? (due.getTime() >= now ? t('sidebar.inTime', { time: duration(due.getTime() - now) }) : t('sidebar.overdue', { time: duration(now - due.getTime()) })) : '';
      body.appendChild(
        h('tr', { attrs: { 'data-timer-id': String(timer.id) } }, h('td', { text: eventLabel(timer.event) }), h('td', { text: due ? `${clock(due)} (${relative})` : String(timer.dueAt ?? '') })),
      );
    }
    table.appendChild(body);
    this.timersBox.appendChild(table);
  }

  private renderTransitions(transitions: ChartDetail['transitions']): void {
    this.transitionsBox.textContent = '';
    if (!transitions.length) {
      this.transitionsBox.appendChild(h('span', { class: 'xstate-empty', text: t('sidebar.noTransitions') }));
      return;
    }
    const newest = [...transitions].sort((a, b) => b.seq - a.seq).slice(0, SHOWN_TRANSITIONS);
    const table = h(
      'table',
      { class: 'xstate-table' },
      h('thead', {}, h('tr', {}, h('th', { text: '#' }), h('th', { text: t('sidebar.transitionEvent') }), h('th', { text: t('sidebar.transitionMove') }), h('th', { text: t('sidebar.transitionAt') }))),
    );
    const body = h('tbody');
    for (const record of newest) {
      const at = toDate(record.at);
      const from = stateLabel(record.from);
      const to = stateLabel(record.to);
      body.appendChild(
        h(
          'tr',
          { attrs: { 'data-seq': String(record.seq) } },
          h('td', { text: String(record.seq) }),
          h('td', { class: 'xstate-event', text: eventLabel(record.event) }),
          h('td', { class: 'xstate-move', text: `${from || t('sidebar.created')} → ${to}` }),
          h('td', { class: 'xstate-time', text: at ? at.toLocaleTimeString([], { hour12: false }) : '' }),
        ),
      );
    }
    table.appendChild(body);
    this.transitionsBox.appendChild(table);
  }

  private async send(): Promise<void> {
    const nodeId = this.nodeId;
    const chartId = this.selected;
    if (!nodeId || !chartId) return;
    let event: Record<string, unknown> | undefined;
    try {
      event = eventFromText(this.eventInput.value);
    } catch (err) {
      this.result('error', t('sidebar.badEvent', { message: (err as Error).message }));
      return;
    }
    if (!event) {
      this.result('error', t('sidebar.emptyEvent'));
      this.eventInput.focus();
      return;
    }
    this.sendButton.disabled = true;
    try {
      const outcome = await api.send(nodeId, chartId, event);
      if (chartId !== this.selected) return;
      const type = eventLabel(event);
      if (outcome.outcome === 'applied') {
        this.result('applied', t('sidebar.applied', { type, value: stateLabel(outcome.state?.value) }));
        if (outcome.state?.value !== undefined && this.handle) this.handle.setActive(outcome.state.value);
        this.scheduleDetail();
      } else if (outcome.outcome === 'rejected') {
        this.result('error', t('sidebar.rejected', { type, code: outcome.error?.code ?? '', message: outcome.error?.message ?? '' }));
      } else {
        this.result(outcome.outcome, outcome.outcome === 'duplicate' ? t('sidebar.duplicate', { type }) : t('sidebar.ignored', { type }));
      }
    } catch (err) {
      this.result('error', t('sidebar.sendFailed', { message: (err as Error).message }));
    } finally {
      this.sendButton.disabled = false;
    }
  }

  private result(kind: string, message: string): void {
    this.sendResult.className = `xstate-send-result xstate-result-${kind}`;
    this.sendResult.textContent = message;
  }

  private confirmDelete(): void {
    const nodeId = this.nodeId;
    const chartId = this.selected;
    if (!nodeId || !chartId) return;
    const red = editorWindow().RED;
    const notification = red.notify(t('sidebar.deleteConfirm', { chartId }), {
      modal: true,
      fixed: true,
      type: 'warning',
      buttons: [
        { text: t('sidebar.cancel'), click: () => notification.close() },
        {
          text: t('sidebar.delete'),
          class: 'primary xstate-confirm-delete',
          click: () => {
            notification.close();
            void this.remove(nodeId, chartId);
          },
        },
      ],
    });
  }

  private async remove(nodeId: string, chartId: string): Promise<void> {
    try {
      await api.remove(nodeId, chartId);
      if (nodeId !== this.nodeId) return;
      this.dropRow(chartId);
      editorWindow().RED.notify(t('sidebar.deleted', { chartId }), { type: 'success', timeout: 3000 });
    } catch (err) {
      this.showError(t('sidebar.deleteFailed', { chartId, message: (err as Error).message }));
    }
  }
}

let sidebar: ChartSidebar | undefined;

/** Adds the `xstate` tab to the editor's sidebar (once). */
export function addSidebarTab(): ChartSidebar {
  if (sidebar) return sidebar;
  const red = editorWindow().RED;
  sidebar = new ChartSidebar();
  const tab = sidebar;
  red.sidebar.addTab({
    id: TAB_ID,
    label: t('sidebar.label'),
    name: t('sidebar.name'),
    iconClass: 'fa fa-sitemap',
    content: tab.content,
    enableOnEdit: true,
    action: 'xstate:show-xstate-tab',
    // Called before the tab's content is shown: size it once it is.
    onchange: () => setTimeout(() => tab.layout(), 0),
  });
  red.events.on('sidebar:resize', () => tab.layout());
  window.addEventListener('resize', () => tab.layout());
  red.actions?.add('xstate:show-xstate-tab', () => red.sidebar.show(TAB_ID));
  red.events.on('flows:loaded', () => tab.markDeployed());
  red.events.on('deploy', () => tab.markDeployed());
  for (const event of ['nodes:add', 'nodes:remove', 'nodes:change', 'flows:change']) red.events.on(event, () => tab.fillNodes());
  tab.markDeployed();
  return tab;
}
