/**
 * The `xstate-chart` edit dialog's live preview: the machine's diagram below the definition editor,
 * redrawn as the JSON changes, and the problems the deploy-time validation finds, listed with their
 * JSON paths and marked on their lines in the code editor (ace annotations, or monaco markers when
 * Node-RED runs monaco). Below them, what deploying would do to the node's running charts (the
 * impact panel); the state map's problems join the list and are marked in its editor. With
 * `source: store`, the stored machine is drawn instead.
 */
import { api, ApiError, type Problem } from './api';
import { locate } from './json-locate';
import { injectEditorStyle } from './editor-style';
import { ImpactPanel } from './impact-panel';
import { diagramLib, editorWindow, h, t, type CodeEditor, type DiagramHandle, type EditorNode } from './red';

/** Wait after the last keystroke before drawing and validating again. */
export const DEBOUNCE_MS = 300;
const MARKER_OWNER = 'xstate-chart';

export interface ChartDialogOptions {
  node: EditorNode;
  /** The dialog's form (`#dialog-form`). */
  form: HTMLElement;
  definitionEditor: CodeEditor;
  implementationsEditor?: CodeEditor;
  /** The settings tab's state map (`migrate`) editor. */
  migrateEditor?: CodeEditor;
  /** Shows the tab with the state map (a click on one of its problems goes there). */
  showMigrateTab?(): void;
}

export interface ChartDialog {
  /** Sizes the editors and the diagram to the dialog; call from `oneditresize`. */
  resize(): void;
  /** Draws and validates at once (after a change the dialog makes itself). */
  refresh(): void;
  destroy(): void;
}

interface Annotation {
  row: number;
  column: number;
  text: string;
  type: 'error';
  xstate?: true;
}

/** Marks the lines of `problems` in a code editor; returns a function that clears them. */
function markLines(editor: CodeEditor, text: string, problems: Problem[]): void {
  const located = problems
    .map((problem) => ({ problem, at: problem.path ? locate(text, problem.path) : undefined }))
    .filter((entry): entry is { problem: Problem; at: NonNullable<ReturnType<typeof locate>> } => entry.at !== undefined);
  const win = editorWindow();
  if (typeof editor.getModel === 'function' && win.monaco) {
    const model = editor.getModel() as { isDisposed?(): boolean } | null;
    // Node-RED may have closed the editor already (the dialog is closing).
    if (!model || model.isDisposed?.()) return;
    const lines = text.split('\n');
    win.monaco.editor.setModelMarkers(
      model,
      MARKER_OWNER,
      located.map(({ problem, at }) => ({
        severity: 8,
        message: problem.message,
        source: problem.path,
        startLineNumber: at.row + 1,
        startColumn: at.column + 1,
        endLineNumber: at.row + 1,
        endColumn: (lines[at.row]?.length ?? at.column) + 1,
      })),
    );
    return;
  }
  const session = editor.getSession?.();
  if (!session?.setAnnotations) return;
  // Keep what ace's own JSON worker found (syntax errors); replace ours.
  const others = ((session.getAnnotations?.() ?? []) as Annotation[]).filter((a) => !a.xstate);
  const ours: Annotation[] = located.map(({ problem, at }) => ({ row: at.row, column: at.column, text: `${problem.path}: ${problem.message}`, type: 'error', xstate: true }));
  session.setAnnotations([...others, ...ours]);
}

function goToLine(editor: CodeEditor, row: number, column: number): void {
  const ed = editor as CodeEditor & {
    setPosition?(p: { lineNumber: number; column: number }): void;
    revealLineInCenter?(line: number): void;
    gotoLine?(line: number, column: number, animate?: boolean): void;
    focus?(): void;
  };
  if (typeof ed.getModel === 'function' && ed.setPosition) {
    ed.setPosition({ lineNumber: row + 1, column: column + 1 });
    ed.revealLineInCenter?.(row + 1);
  } else {
    ed.gotoLine?.(row + 1, column, false);
  }
  ed.focus?.();
}

function debounce(fn: () => void, ms: number): { (): void; cancel(): void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const run = () => {
    clearTimeout(timer);
    timer = setTimeout(fn, ms);
  };
  run.cancel = () => clearTimeout(timer);
  return run;
}

/** The value of a form field (a select Node-RED fills, or an input). */
function field(form: HTMLElement, id: string): string {
  const input = form.querySelector<HTMLInputElement | HTMLSelectElement>(`#${id}`);
  return input ? String(input.value ?? '') : '';
}

const px = (value: string) => parseFloat(value) || 0;

/** The height `element` takes besides the `flexible` boxes inside it (laid out as blocks, one under another). */
function fixedHeight(element: HTMLElement, flexible: HTMLElement[]): number {
  if (flexible.includes(element)) return 0;
  if (!flexible.some((box) => element.contains(box))) return element.offsetHeight;
  const style = getComputedStyle(element);
  let height = px(style.paddingTop) + px(style.paddingBottom) + px(style.borderTopWidth) + px(style.borderBottomWidth);
  for (const child of Array.from(element.children) as HTMLElement[]) {
    if (child.offsetParent === null) continue;
    const childStyle = getComputedStyle(child);
    if (childStyle.position === 'absolute' || childStyle.position === 'fixed') continue;
    height += fixedHeight(child, flexible) + px(childStyle.marginTop) + px(childStyle.marginBottom);
  }
  return height;
}

export function chartDialog(options: ChartDialogOptions): ChartDialog {
  injectEditorStyle(document);
  const { form, definitionEditor, implementationsEditor } = options;
  const $ = editorWindow().$ as unknown as (el: Element) => { on(events: string, fn: () => void): void; off(events: string, fn: () => void): void };
  const found = form.querySelector<HTMLElement>('.xstate-chart-preview-row');
  if (!found) throw new Error('xstate-chart: the dialog template has no .xstate-chart-preview-row');
  const row: HTMLElement = found;
  const scroll = row.querySelector<HTMLElement>('.xstate-diagram-scroll')!;
  const problemsList = row.querySelector<HTMLUListElement>('.xstate-problems')!;
  const status = row.querySelector<HTMLElement>('.xstate-validation-status')!;
  const note = row.querySelector<HTMLElement>('.xstate-chart-preview-note')!;
  const fit = row.querySelector<HTMLButtonElement>('.xstate-diagram-fit');
  const impactBox = row.querySelector<HTMLElement>('.xstate-impact');
  const impact = impactBox ? new ImpactPanel(impactBox, options.node.id, () => resize()) : undefined;
  const migrateStatus = form.querySelector<HTMLElement>('.xstate-migrate-status');
  const { migrateEditor } = options;

  let destroyed = false;
  let handle: DiagramHandle | undefined;
  /** Requests started: an answer to an older one is dropped. */
  let generation = 0;
  let lastText: string | undefined;
  let lastMigrate = '';
  /** The definition's problems as last validated (with the text and implementations validated), and the state map's. */
  let definitionProblems: Problem[] = [];
  let validated: { text: string; implementations: string } | undefined;
  let validation: { kind: 'pending' | 'done' | 'none' } | { kind: 'unavailable'; message: string } = { kind: 'none' };
  let mapProblems: Problem[] = [];

  const source = () => (field(form, 'node-input-source') === 'store' ? 'store' : 'inline');
  /** A state map problem's path inside the map's own text: `migrate.states["C"]` → `states["C"]`. */
  const inMap = (path: string) => path.replace(/^migrate\.?/, '');

  function problemItem(problem: Problem, ofMap: boolean): HTMLLIElement {
    const editor = ofMap ? migrateEditor : definitionEditor;
    const text = ofMap ? lastMigrate : lastText;
    const path = ofMap ? inMap(problem.path) : problem.path;
    const at = text !== undefined && path ? locate(text, path) : undefined;
    const item = h(
      'li',
      { class: `xstate-problem${at || ofMap ? ' xstate-problem-located' : ''}${ofMap ? ' xstate-problem-map' : ''}`, attrs: { 'data-path': problem.path } },
      h('code', { class: 'xstate-problem-path', text: problem.path || t('dialog.wholeDefinition') }),
      h('span', { class: 'xstate-problem-message', text: problem.message }),
    );
    if (at) item.title = t('dialog.goToLine', { line: at.row + 1 });
    if (at || ofMap) {
      item.addEventListener('click', () => {
        if (ofMap) options.showMigrateTab?.();
        if (editor && at) goToLine(editor, at.row, at.column);
        else (editor as { focus?(): void } | undefined)?.focus?.();
      });
    }
    return item;
  }

  /** Lists the definition's and the state map's problems, marks their lines, and says how it went. */
  function showProblems(): void {
    problemsList.textContent = '';
    for (const problem of definitionProblems) problemsList.appendChild(problemItem(problem, false));
    for (const problem of mapProblems) problemsList.appendChild(problemItem(problem, true));
    const count = definitionProblems.length + mapProblems.length;
    const shownBefore = !problemsList.hidden;
    problemsList.hidden = count === 0;
    if (lastText !== undefined) markLines(definitionEditor, lastText, definitionProblems);
    if (migrateEditor) markLines(migrateEditor, lastMigrate, mapProblems.map((problem) => ({ ...problem, path: inMap(problem.path) })));
    if (validation.kind === 'pending') setStatus('pending', t('dialog.validating'));
    else if (validation.kind === 'unavailable') setStatus('unavailable', t('dialog.validationUnavailable', { message: validation.message }));
    else if (validation.kind === 'none') setStatus('none');
    else if (count) setStatus('problems', t('dialog.problems', { count }));
    else setStatus('ok', t('dialog.valid'));
    // The list takes room from the editors and the diagram.
    if (shownBefore !== !problemsList.hidden || count) resize();
  }

  function setStatus(kind: 'ok' | 'problems' | 'pending' | 'unavailable' | 'none', message = ''): void {
    status.className = `xstate-validation-status xstate-validation-${kind}`;
    status.textContent = message;
  }

  /** Under the state map's editor (another tab than the list): its problems, or the charts it moves. */
  function showMigrateStatus(mapped: number | undefined): void {
    if (!migrateStatus) return;
    let kind = 'none';
    let message = '';
    if (mapProblems.length) [kind, message] = ['problems', t('impact.mapProblems', { count: mapProblems.length })];
    else if (mapped !== undefined && lastMigrate.trim()) [kind, message] = ['ok', t('impact.mapMoves', { count: mapped })];
    migrateStatus.className = `xstate-migrate-status xstate-migrate-${kind}`;
    migrateStatus.textContent = message;
  }

  async function draw(definition: unknown, stale = false): Promise<void> {
    try {
      const lib = await diagramLib();
      if (destroyed) return;
      handle = await lib.render(scroll, definition);
      scroll.classList.toggle('xstate-stale', stale);
    } catch (err) {
      note.textContent = t('dialog.diagramFailed', { message: (err as Error).message });
    }
  }

  async function updateInline(): Promise<void> {
    const mine = ++generation;
    const text = definitionEditor.getValue();
    const implementations = implementationsEditor?.getValue() ?? '';
    lastMigrate = migrateEditor?.getValue() ?? '';
    note.textContent = '';
    let parsed: unknown;
    let parses = true;
    try {
      parsed = JSON.parse(text);
    } catch {
      parses = false;
    }
    // Text that does not parse keeps the last diagram, greyed, rather than a lone root box.
    if (parses) void draw(parsed);
    else if (handle) scroll.classList.add('xstate-stale');
    else void draw(text, true);
    lastText = text;
    void updateImpact(mine, text);
    // A change of the state map or of the versioning alone: the definition's problems stand.
    if (validation.kind === 'done' && validated?.text === text && validated.implementations === implementations) return;
    validation = { kind: 'pending' };
    setStatus('pending', t('dialog.validating'));
    try {
      const result = await api.validate(text, implementations);
      if (destroyed || mine !== generation) return;
      definitionProblems = Array.isArray(result.problems) ? result.problems : [];
      validation = { kind: 'done' };
      validated = { text, implementations };
    } catch (err) {
      if (destroyed || mine !== generation) return;
      definitionProblems = [];
      validation = { kind: 'unavailable', message: (err as Error).message };
    }
    showProblems();
  }

  async function updateImpact(mine: number, text: string): Promise<void> {
    if (!impact) return;
    const answer = await impact.check({ definition: text, migrate: lastMigrate, versioning: field(form, 'node-input-versioning') === 'pin' ? 'pin' : 'move' });
    if (destroyed || mine !== generation || !answer) return;
    mapProblems = answer.problems;
    showProblems();
    showMigrateStatus(answer.impact?.totals.map);
  }

  async function updateStored(): Promise<void> {
    const mine = ++generation;
    impact?.hide();
    definitionProblems = [];
    mapProblems = [];
    validation = { kind: 'none' };
    showProblems();
    showMigrateStatus(undefined);
    const storeId = field(form, 'node-input-store');
    const machineId = field(form, 'node-input-machineId').trim();
    if (!storeId || storeId === '_ADD_' || !machineId) {
      note.textContent = t('dialog.pickStoreAndMachine');
      handle?.destroy();
      handle = undefined;
      return;
    }
    note.textContent = t('dialog.loadingStored');
    try {
      const stored = await api.storedMachine(storeId, machineId);
      if (destroyed || mine !== generation) return;
      note.textContent = t('dialog.storedVersion', { machineId, version: stored.version });
      await draw(stored.definition);
    } catch (err) {
      if (destroyed || mine !== generation) return;
      handle?.destroy();
      handle = undefined;
      const notDeployed = err instanceof ApiError && err.status === 404;
      note.textContent = notDeployed ? t('dialog.storedNotFound', { machineId }) : t('dialog.storedFailed', { message: (err as Error).message });
    }
  }

  const update = () => {
    if (destroyed) return;
    void (source() === 'store' ? updateStored() : updateInline());
  };
  const later = debounce(update, DEBOUNCE_MS);
  definitionEditor.on('change', later);
  implementationsEditor?.on('change', later);
  migrateEditor?.on('change', later);
  const watched = ['node-input-source', 'node-input-store', 'node-input-machineId', 'node-input-versioning']
    .map((id) => form.querySelector(`#${id}`))
    .filter((el): el is Element => el !== null);
  for (const el of watched) $(el).on('change input', later);

  const toggleFit = () => {
    const fitted = scroll.classList.toggle('xstate-fit');
    if (fit) fit.classList.toggle('selected', fitted);
  };
  fit?.addEventListener('click', toggleFit);

  update();

  /**
   * Gives the code editors and the diagram the height the dialog leaves: on the machine tab the
   * definition editor and the diagram share it, on the implementations tab its editor takes it.
   */
  function resize(): void {
    const inline = source() !== 'store';
    const definitionBox = form.querySelector<HTMLElement>('#node-input-definition-editor');
    const implementationsBox = form.querySelector<HTMLElement>('#node-input-implementations-editor');
    const migrateBox = form.querySelector<HTMLElement>('#node-input-migrate-editor');
    const flexible = [definitionBox, scroll, implementationsBox, migrateBox].filter((el): el is HTMLElement => el !== null && el.offsetParent !== null);
    if (!flexible.length) return;
    const height = Math.max(0, form.clientHeight - fixedHeight(form, flexible) - 8);
    const set = (box: HTMLElement | null, part: number, min: number) => {
      if (box && box.offsetParent !== null) box.style.height = `${Math.max(min, Math.floor(height * part))}px`;
    };
    if (inline) set(definitionBox, 0.45, 120);
    set(scroll, inline ? 0.55 : 1, 160);
    set(implementationsBox, 1, 120);
    set(migrateBox, 1, 100);
    // Margins that collapse make the estimate a little off: give what is left to the last box.
    const rows = Array.from(form.querySelectorAll<HTMLElement>('.form-row')).filter((r) => r.offsetParent !== null);
    const bottom = Math.max(...rows.map((r) => r.getBoundingClientRect().bottom + px(getComputedStyle(r).marginBottom)));
    const slack = Math.floor(form.getBoundingClientRect().top + form.clientHeight - bottom - 4);
    const last = flexible[flexible.length - 1];
    if (Number.isFinite(slack) && slack > 0) last.style.height = `${last.offsetHeight + slack}px`;
    for (const editor of [definitionEditor, implementationsEditor, options.migrateEditor]) (editor as (CodeEditor & { resize?(): void }) | undefined)?.resize?.();
  }

  return {
    refresh: update,
    resize,
    destroy() {
      destroyed = true;
      later.cancel();
      for (const el of watched) $(el).off('change input', later);
      fit?.removeEventListener('click', toggleFit);
      handle?.destroy();
    },
  };
}
