import type { StateValue } from 'xstate';
import type { CompiledMachine } from './machine';
import { movedTimer, planMove, type MigrateMap } from './migrate';

/** What deploying a candidate version would do to one group of charts (one version, one state). */
export interface ImpactGroup {
  version: number;
  value: unknown;
  charts: number;
  /**
   * current: they run this very version already; move: as they are; map: through the state map
   * (`to`); stay: on their version (`reason`); pinned: the node pins charts to their version.
   */
  outcome: 'current' | 'move' | 'map' | 'stay' | 'pinned';
  to?: StateValue;
  reason?: string;
  timers: number;
  /** Pending timers whose state has no such timer in the new version: they would never fire. */
  timersDropped: number;
}

export interface Impact {
  machineId: string;
  /** The version number the candidate gets: an existing one when it is unchanged. */
  candidate: { version: number; changed: boolean };
  groups: ImpactGroup[];
  totals: { charts: number; move: number; map: number; stay: number; pinned: number; current: number; timersDropped: number };
}

export interface ImpactInput {
  candidate: CompiledMachine;
  migrate: MigrateMap;
  /** The candidate's version number, and whether it differs from the current one. */
  version: number;
  changed: boolean;
  versioning: 'move' | 'pin';
  groups: Array<{ version: number; value: unknown; charts: number }>;
  timers: Array<{ version: number; value: unknown; eventType: string; timers: number }>;
  /** The compiled machine of a stored version (to follow its timers); undefined when it cannot be built. */
  machineOf: (version: number) => CompiledMachine | undefined;
  /** Set when the candidate has another machine id: why every group stays. */
  renamed?: string;
}

/** The impact report of SPEC §6 / issue 12, computed from counts per version and state. */
export function impactOf(input: ImpactInput): Impact {
  const { candidate, migrate } = input;
  const timersOf = new Map<string, Array<{ eventType: string; timers: number }>>();
  for (const t of input.timers) {
    const key = `${t.version}\u0000${JSON.stringify(t.value)}`;
    timersOf.set(key, [...(timersOf.get(key) ?? []), t]);
  }
  const groups: ImpactGroup[] = input.groups.map((group) => {
    const timers = timersOf.get(`${group.version}\u0000${JSON.stringify(group.value)}`) ?? [];
    const base = { version: group.version, value: group.value, charts: group.charts, timers: timers.reduce((n, t) => n + t.timers, 0), timersDropped: 0 };
    if (input.renamed) return { ...base, outcome: 'stay', reason: input.renamed };
    if (group.version === input.version && !input.changed) return { ...base, outcome: 'current' };
    if (group.version >= input.version) return { ...base, outcome: 'current' };
    if (input.versioning === 'pin') return { ...base, outcome: 'pinned' };
    const move = planMove(group.value as StateValue, candidate, migrate);
    if (move.kind === 'stay') return { ...base, outcome: 'stay', reason: move.reason };
    const from = input.machineOf(group.version);
    const dropped = from ? timers.filter((t) => movedTimer(t.eventType, from, candidate, move.kind === 'map' ? move.paths : undefined) === undefined).reduce((n, t) => n + t.timers, 0) : 0;
    return move.kind === 'map' ? { ...base, outcome: 'map', to: move.value, timersDropped: dropped } : { ...base, outcome: 'move', timersDropped: dropped };
  });
  const totals = { charts: 0, move: 0, map: 0, stay: 0, pinned: 0, current: 0, timersDropped: 0 };
  for (const group of groups) {
    totals.charts += group.charts;
    totals[group.outcome] += group.charts;
    totals.timersDropped += group.timersDropped;
  }
  return { machineId: candidate.id, candidate: { version: input.version, changed: input.changed }, groups, totals };
}
