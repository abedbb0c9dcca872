import { ChartError, messageOf } from '../engine/errors';
import { errorText } from '../engine/texts';
import { versionDigest, type CompiledMachine } from '../engine/machine';
import { isEmptyMigrate, migrateProblems, NO_MIGRATE, parseMigrate, type MigrateMap } from '../engine/migrate';
import { DefinitionError } from '../engine/definition';
import type { StoredMachine } from '../store/sql/load-machine';
import { MachineVersions, type MachineVersion } from './machine-versions';

/** What a machine source needs of a store; {@link ChartStore} is one. */
export interface MachineStore {
  registerMachine(machineId: string, definition: unknown, digest: string, migrate?: unknown): Promise<number>;
  loadMachine(machineId: string, version?: number): Promise<StoredMachine | undefined>;
  loadMachineVersions(machineId: string): Promise<StoredMachine[]>;
  watchMachines(listener: (change: { machineId: string; version: number } | undefined) => void): Promise<() => Promise<void>>;
}

export type MachineSourceOptions = {
  store: MachineStore;
  /** Compiles a definition with the node's implementations (throws `definition_invalid`). */
  compile: (definition: unknown) => CompiledMachine;
  /** A newer stored version became current. */
  onLoaded?: (version: number) => void;
  /**
   * Source `store`: besides listening, look for a newer version this often (default 30 s). A
   * notification can be lost: LISTEN does not pass a pooler in transaction mode (PgBouncer), and a
   * listening connection can die without a word.
   */
  checkEveryMs?: number;
  onError?: (message: string) => void;
} & ({ source: 'inline'; machine: CompiledMachine; migrate?: MigrateMap } | { source: 'store'; machineId: string });

export const DEFAULT_MACHINE_CHECK_MS = 30_000;

/**
 * Where a chart node's machine comes from. Inline: the deployed definition, registered in the
 * store as a version. Store: the newest version of a machine id, followed as new versions are
 * written (by any process: LISTEN/NOTIFY, and a look now and then), and written by `put`.
 */
export class MachineSource {
  private versions?: MachineVersions;
  private stopWatching?: Promise<() => Promise<void>>;
  private checkTimer?: NodeJS.Timeout;
  private closed = false;
  /** A look for a newer version in flight, and whether another was asked for meanwhile (one written since it read). */
  private reloading?: Promise<void>;
  private reloadAgain = false;
  /** The last failure told (a store that is down, a version these implementations cannot build): told once, not at every look. */
  private lastFailure?: string;

  constructor(private readonly options: MachineSourceOptions) {}

  /** The version running charts get now; undefined until opened. */
  get currentVersion(): number | undefined {
    return this.versions?.current.version;
  }

  get machineId(): string {
    return this.options.source === 'inline' ? this.options.machine.id : this.options.machineId;
  }

  /** The machine's versions, the current one first; rejects while there is none to run. */
  async open(): Promise<MachineVersions> {
    const { options } = this;
    let current: MachineVersion;
    if (options.source === 'inline') {
      const { machine } = options;
      const migrate = options.migrate ?? NO_MIGRATE;
      await this.checkSources(machine, migrate);
      current = { machine, migrate, version: await this.register(machine, migrate) };
    } else {
      this.watch();
      const newest = await this.newestStored();
      if (!newest) {
        throw new ChartError('definition_invalid', errorText('noStoredMachine', { machineId: options.machineId }));
      }
      current = newest;
    }
    const load = async (version: number) => {
      const stored = await options.store.loadMachine(this.machineId, version);
      if (!stored) throw new Error(errorText('versionNotStored', { version, machineId: this.machineId }));
      return stored.definition;
    };
    this.versions = new MachineVersions(current, load, options.compile);
    return this.versions;
  }

  /**
   * Writes a new version of a stored machine: the definition, or `{ definition, migrate }` with the
   * state map that moves running charts; resolves with its version number.
   */
  async put(input: unknown): Promise<number> {
    const { options } = this;
    if (options.source !== 'store') throw new ChartError('definition_invalid', errorText('inlineMachine'));
    const { definition, migrate } = splitMachineInput(input);
    const machine = options.compile(typeof definition === 'string' ? definition : structuredClone(definition));
    if (machine.id !== options.machineId) throw new ChartError('definition_invalid', errorText('otherMachineId', { machineId: options.machineId, id: machine.id }));
    await this.checkSources(machine, migrate);
    let version: number;
    try {
      version = await this.register(machine, migrate);
    } catch (err) {
      throw new ChartError('persistence_failed', errorText('notStored', { message: messageOf(err) }));
    }
    await this.reload();
    return version;
  }

  /** Every version of the machine in the store that these implementations can build, compiled (for the impact report). */
  async storedVersions(): Promise<Map<number, CompiledMachine>> {
    const versions = new Map<number, CompiledMachine>();
    for (const stored of await this.options.store.loadMachineVersions(this.machineId)) {
      try {
        versions.set(stored.version, this.options.compile(stored.definition));
      } catch {
        // A version these implementations cannot build: its charts' timers are not judged.
      }
    }
    return versions;
  }

  /** A state map whose sources are states of no earlier version is refused (its targets were checked already). */
  private async checkSources(machine: CompiledMachine, migrate: MigrateMap): Promise<void> {
    if (Object.keys(migrate.states).length === 0) return;
    const earlier = (await this.options.store.loadMachineVersions(this.machineId)).map((v) => v.definition);
    const problems = migrateProblems(migrate, machine.definition, earlier.length > 0 ? earlier : undefined);
    if (problems.length > 0) throw new DefinitionError(problems);
  }

  private register(machine: CompiledMachine, migrate: MigrateMap): Promise<number> {
    const stored = isEmptyMigrate(migrate) ? undefined : migrate;
    return this.options.store.registerMachine(machine.id, machine.definition, versionDigest(machine.definition, stored), stored);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.checkTimer);
    const stop = await this.stopWatching?.catch(() => undefined);
    await stop?.().catch(() => {});
  }

  private watch(): void {
    if (this.options.source !== 'store') return;
    const { machineId } = this.options;
    if (!this.checkTimer) {
      this.checkTimer = setInterval(() => void this.reload(), this.options.checkEveryMs ?? DEFAULT_MACHINE_CHECK_MS);
      this.checkTimer.unref();
    }
    if (this.stopWatching) return;
    this.stopWatching = this.options.store.watchMachines((change) => {
      if (!change || change.machineId === machineId) void this.reload();
    });
    // Not watching yet (the store is down): the next `open` tries again.
    this.stopWatching.catch(() => (this.stopWatching = undefined));
  }

  /** A new version in the store reaches the running charts without a redeploy. */
  private reload(): Promise<void> {
    if (this.reloading) {
      this.reloadAgain = true;
      return this.reloading;
    }
    this.reloading = (async () => {
      do {
        this.reloadAgain = false;
        await this.loadNewest();
      } while (this.reloadAgain && !this.closed);
    })().finally(() => (this.reloading = undefined));
    return this.reloading;
  }

  private async loadNewest(): Promise<void> {
    if (this.closed || !this.versions || this.options.source !== 'store') return;
    try {
      const newest = await this.newestStored();
      this.lastFailure = undefined;
      // Closed meanwhile (a redeploy): the node's successor loads it for itself.
      if (this.closed || !newest || newest.version <= this.versions.current.version) return;
      this.versions.setCurrent(newest.machine, newest.version, newest.migrate);
      this.options.onLoaded?.(newest.version);
    } catch (err) {
      const failure = `machine "${this.machineId}": the newest version was not loaded: ${messageOf(err)}`;
      if (failure !== this.lastFailure && !this.closed) this.options.onError?.(failure);
      this.lastFailure = failure;
    }
  }

  /** The newest version of the stored machine, compiled; undefined when none is stored yet. */
  private async newestStored(): Promise<MachineVersion | undefined> {
    const stored = await this.options.store.loadMachine(this.machineId);
    if (!stored) return undefined;
    const machine = this.options.compile(stored.definition);
    if (machine.id !== this.machineId) throw new ChartError('definition_invalid', errorText('storedOtherId', { machineId: this.machineId, id: machine.id }));
    return { machine, version: stored.version, migrate: parseMigrate(stored.migrate) };
  }
}

/**
 * A machine as `msg.machine` or the admin API give it: the definition alone, or
 * `{ definition, migrate }` (an object with a "definition" key and no "states": a definition has states).
 */
export function splitMachineInput(input: unknown): { definition: unknown; migrate: MigrateMap } {
  let value = input;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      return { definition: input, migrate: NO_MIGRATE };
    }
  }
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && 'definition' in value && !('states' in value)) {
    const { definition, migrate } = value as { definition: unknown; migrate?: unknown };
    return { definition, migrate: parseMigrate(migrate) };
  }
  return { definition: input, migrate: NO_MIGRATE };
}
