/**
 * The chart dialog's impact panel (issue 12, "impact before deploy"): what deploying the definition,
 * state map and versioning in the dialog would do to the deployed node's running charts, as
 * `POST /xstate-chart/{nodeId}/impact` counts them in the store. One line per group of charts (a
 * version and a state): they move as they are, move through the state map, stay on their version
 * (why), or stay pinned; pending timers that would be dropped are named. Groups that would stay or
 * lose timers are marked as warnings. Each line is an `li` with `data-version`, `data-outcome`,
 * `data-charts` and `data-state`.
 */
import { api, ApiError, type Impact, type ImpactGroup, type Problem } from './api';
import { stateLabel } from './format';
import { h, t } from './red';

/** What the dialog would deploy: the texts of its editors and its versioning setting. */
export interface DialogCandidate {
  definition: string;
  migrate: string;
  versioning: 'move' | 'pin';
}

const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);

/**
 * The state map's text as the endpoint takes it, or the problems of its shape that keep it from
 * being asked (the endpoint would name them without a path); its entries are checked there.
 */
function readMigrate(text: string): { migrate?: unknown; problems: Problem[] } {
  if (!text.trim()) return { problems: [] };
  let migrate: unknown;
  try {
    migrate = JSON.parse(text);
  } catch (err) {
    return { problems: [{ path: 'migrate', message: t('impact.migrateNotJson', { message: (err as Error).message }) }] };
  }
  if (!isObject(migrate)) return { problems: [{ path: 'migrate', message: t('impact.migrateNotObject') }] };
  const problems: Problem[] = [];
  for (const [key, value] of Object.entries(migrate)) {
    if (key === 'states') {
      if (!isObject(value)) problems.push({ path: 'migrate.states', message: t('impact.migrateStates') });
      else for (const [from, to] of Object.entries(value)) if (typeof to !== 'string') problems.push({ path: `migrate.states[${JSON.stringify(from)}]`, message: t('impact.migrateTarget') });
    } else if (key === 'context') {
      if (!isObject(value)) problems.push({ path: 'migrate.context', message: t('impact.migrateContext') });
    } else problems.push({ path: `migrate[${JSON.stringify(key)}]`, message: t('impact.migrateKey', { key }) });
  }
  return problems.length ? { problems } : { migrate, problems };
}

/** Stay first (they need a decision), then map, move, pinned, current; the biggest groups first. */
const ORDER: Record<ImpactGroup['outcome'], number> = { stay: 0, map: 1, move: 2, pinned: 3, current: 4 };

const ICON: Record<ImpactGroup['outcome'], string> = {
  stay: 'fa-exclamation-triangle',
  map: 'fa-random',
  move: 'fa-arrow-right',
  pinned: 'fa-thumb-tack',
  current: 'fa-check',
};

/** The sentence for one group: "37 charts in Locked (v3) would stay on v3: state "Locked" does not exist…". */
export function groupText(group: ImpactGroup): string {
  const words = { count: group.charts, state: stateLabel(group.value), version: group.version, to: stateLabel(group.to), reason: group.reason ?? '' };
  let text: string;
  // Each key spelled out, not built from the outcome: the catalog test finds the keys by their text.
  switch (group.outcome) {
    case 'stay':
      text = t('impact.stay', words);
      break;
    case 'map':
      text = t('impact.map', words);
      break;
    case 'move':
      text = t('impact.move', words);
      break;
    case 'pinned':
      text = t('impact.pinned', words);
      break;
    default:
      text = t('impact.current', words);
  }
  return group.timersDropped > 0 ? `${text} ${t('impact.timersDropped', { count: group.timersDropped })}` : text;
}

export class ImpactPanel {
  private readonly header: HTMLElement;
  private readonly summary: HTMLElement;
  private readonly message: HTMLElement;
  private readonly list: HTMLUListElement;
  /** Requests started: an answer to an older one is dropped. */
  private generation = 0;

  /** `changed`: the panel's height may have changed (the dialog lays itself out again). */
  constructor(
    readonly element: HTMLElement,
    private readonly nodeId: string,
    private readonly changed: () => void,
  ) {
    element.textContent = '';
    this.header = h('span', { class: 'xstate-impact-title' });
    this.summary = h('span', { class: 'xstate-impact-summary' });
    this.message = h('div', { class: 'xstate-impact-message' });
    this.list = h('ul', { class: 'xstate-impact-groups' });
    element.append(h('div', { class: 'xstate-impact-header' }, h('i', { class: 'fa fa-code-fork' }), this.header, this.summary), this.message, this.list);
  }

  /**
   * Asks what deploying `candidate` would do and shows it; resolves with the problems of its state
   * map (to list with the definition's) and the impact when there is one, or undefined when a newer
   * check started meanwhile.
   */
  async check(candidate: DialogCandidate): Promise<{ problems: Problem[]; impact?: Impact } | undefined> {
    const mine = ++this.generation;
    const { migrate, problems: shape } = readMigrate(candidate.migrate);
    if (shape.length) {
      this.show('invalid', t('impact.migrateInvalid'));
      return { problems: shape };
    }
    let definitionParses = true;
    try {
      JSON.parse(candidate.definition);
    } catch {
      definitionParses = false;
    }
    if (!definitionParses) {
      this.show('invalid', t('impact.definitionInvalid'));
      return { problems: [] };
    }
    this.element.classList.add('xstate-impact-pending');
    this.summary.textContent = t('impact.counting');
    try {
      const answer = await api.impact(this.nodeId, { definition: candidate.definition, versioning: candidate.versioning, ...(migrate === undefined ? {} : { migrate }) });
      if (mine !== this.generation) return undefined;
      const problems = Array.isArray(answer.problems) ? answer.problems : [];
      const ofMap = (p: Problem) => /^migrate(\.|\[|$)/.test(p.path);
      // The definition's own problems come from the dialog's validation (with the dialog's
      // implementations; the endpoint builds it with the deployed ones).
      const first = problems.find((p) => !ofMap(p));
      if (answer.impact) this.showImpact(answer.impact);
      else this.show('invalid', first ? t('impact.notBuilt', { message: first.path ? `${first.path}: ${first.message}` : first.message }) : t('impact.definitionInvalid'));
      return { problems: problems.filter(ofMap), impact: answer.impact };
    } catch (err) {
      if (mine !== this.generation) return undefined;
      if (err instanceof ApiError && err.status === 404) this.show('not-deployed', t('impact.notDeployed'));
      else this.show('unavailable', t('impact.unavailable', { message: (err as Error).message }));
      return { problems: [] };
    }
  }

  /** Hides the panel (a machine from the store: its versions come from the store, not from a deploy). */
  hide(): void {
    this.generation++;
    if (!this.element.hidden) {
      this.element.hidden = true;
      this.changed();
    }
  }

  /** A message instead of the groups (`kind` is the panel's `data-impact`). */
  private show(kind: 'invalid' | 'not-deployed' | 'unavailable' | 'unchanged' | 'empty', text: string, summary = ''): void {
    this.element.setAttribute('data-impact', kind);
    this.element.classList.remove('xstate-impact-pending', 'xstate-impact-warning');
    this.header.textContent = t('impact.title');
    this.summary.textContent = summary;
    this.message.textContent = text;
    this.message.hidden = false;
    this.list.textContent = '';
    this.list.hidden = true;
    this.reveal();
  }

  private showImpact(impact: Impact): void {
    const { candidate, totals } = impact;
    if (!candidate.changed) return this.show('unchanged', t('impact.unchanged', { version: candidate.version }));
    if (totals.charts === 0) return this.show('empty', t('impact.noCharts'), t('impact.candidate', { version: candidate.version }));
    this.element.setAttribute('data-impact', 'changed');
    this.element.setAttribute('data-version', String(candidate.version));
    this.element.classList.remove('xstate-impact-pending');
    this.element.classList.toggle('xstate-impact-warning', totals.stay > 0 || totals.timersDropped > 0);
    this.header.textContent = t('impact.titleVersion', { version: candidate.version });
    const parts = [t('impact.total', { count: totals.charts })];
    if (totals.stay > 0) parts.push(t('impact.totalStay', { count: totals.stay }));
    if (totals.timersDropped > 0) parts.push(t('impact.totalTimersDropped', { count: totals.timersDropped }));
    this.summary.textContent = parts.join(' · ');
    this.message.textContent = '';
    this.message.hidden = true;
    this.list.textContent = '';
    const groups = [...impact.groups].sort((a, b) => ORDER[a.outcome] - ORDER[b.outcome] || b.charts - a.charts || a.version - b.version);
    for (const group of groups) {
      const warning = group.outcome === 'stay' || group.timersDropped > 0;
      const attrs: Record<string, string> = {
        'data-version': String(group.version),
        'data-outcome': group.outcome,
        'data-charts': String(group.charts),
        'data-state': stateLabel(group.value),
      };
      if (group.outcome === 'map') attrs['data-to'] = stateLabel(group.to);
      if (group.timersDropped > 0) attrs['data-timers-dropped'] = String(group.timersDropped);
      this.list.appendChild(
        h(
          'li',
          { class: `xstate-impact-group xstate-impact-${group.outcome}${warning ? ' xstate-impact-warning' : ''}`, attrs },
          h('i', { class: `fa ${warning ? ICON.stay : ICON[group.outcome]}` }),
          h('span', { text: groupText(group) }),
        ),
      );
    }
    this.list.hidden = false;
    this.reveal();
  }

  private reveal(): void {
    this.element.hidden = false;
    this.changed();
  }
}
