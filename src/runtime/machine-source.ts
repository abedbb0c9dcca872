import { ChartError, messageOf } from '../engine/errors';
import type { CompiledMachine } from '../engine/machine';
import type { StoredMachine } from '../store/sql/load-machine';
import { MachineVersions } from './machine-versions';

/** What a machine source needs of a store; {@link ChartStore} is one. */
export interface MachineStore {
  registerMachine(machineId: string, definition: unknown, digest: string): Promise<number>;
  loadMachine(machineId: string, version?: number): Promise<StoredMachine | undefined>;
  watchMachines(listener: (change: { machineId: string; version: number } | undefined) => void): Promise<() => Promise<void>>;
}

export type MachineSourceOptions = {
  store: MachineStore;
  /** Compiles a definition with the node's implementations (throws `definition_invalid`). */
  compile: (definition: unknown) => CompiledMachine;
  /** A newer stored version became current. */
  onLoaded?: (version: number) => void;
  onError?: (message: string) => void;
} & ({ source: 'inline'; machine: CompiledMachine } | { source: 'store'; machineId: string });

/**
 * Where a chart node's machine comes from. Inline: the deployed definition, registered in the
 * store as a version. Store: the newest version of a machine id, followed as new versions are
 * written (by any process: LISTEN/NOTIFY), and written by `put`.
 */
export class MachineSource {
  private versions?: MachineVersions;
  private stopWatching?: Promise<() => Promise<void>>;

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
    let current: { machine: CompiledMachine; version: number };
    if (options.source === 'inline') {
      const { machine } = options;
      current = { machine, version: await options.store.registerMachine(machine.id, machine.definition, machine.digest) };
    } else {
      this.watch();
      const newest = await this.newestStored();
      if (!newest) {
        throw new ChartError('definition_invalid', `There is no machine "${options.machineId}" in the store yet: send it to this node as msg.machine, or POST it to the store's admin endpoint.`);
      }
      current = newest;
    }
    const load = async (version: number) => {
      const stored = await options.store.loadMachine(this.machineId, version);
      if (!stored) throw new Error(`version ${version} of machine "${this.machineId}" is not in the store`);
      return stored.definition;
    };
    this.versions = new MachineVersions(current, load, options.compile);
    return this.versions;
  }

  /** Writes a new version of a stored machine; resolves with its version number. */
  async put(definition: unknown): Promise<number> {
    const { options } = this;
    if (options.source !== 'store') throw new ChartError('definition_invalid', 'This node runs an inline machine: deploy to change it, or set its source to "store".');
    const machine = options.compile(typeof definition === 'string' ? definition : structuredClone(definition));
    if (machine.id !== options.machineId) throw new ChartError('definition_invalid', `This node runs machine "${options.machineId}"; the definition sent has the id "${machine.id}".`);
    let version: number;
    try {
      version = await options.store.registerMachine(machine.id, machine.definition, machine.digest);
    } catch (err) {
      throw new ChartError('persistence_failed', `The machine was not stored: ${messageOf(err)}`);
    }
    await this.reload();
    return version;
  }

  async close(): Promise<void> {
    const stop = await this.stopWatching?.catch(() => undefined);
    await stop?.().catch(() => {});
  }

  private watch(): void {
    if (this.stopWatching || this.options.source !== 'store') return;
    const { machineId } = this.options;
    this.stopWatching = this.options.store.watchMachines((change) => {
      if (!change || change.machineId === machineId) void this.reload();
    });
    // Not watching yet (the store is down): the next `open` tries again.
    this.stopWatching.catch(() => (this.stopWatching = undefined));
  }

  /** A new version in the store reaches the running charts without a redeploy. */
  private async reload(): Promise<void> {
    if (!this.versions || this.options.source !== 'store') return;
    try {
      const newest = await this.newestStored();
      if (!newest || newest.version <= this.versions.current.version) return;
      this.versions.setCurrent(newest.machine, newest.version);
      this.options.onLoaded?.(newest.version);
    } catch (err) {
      this.options.onError?.(`machine "${this.machineId}": the newest version was not loaded: ${messageOf(err)}`);
    }
  }

  /** The newest version of the stored machine, compiled; undefined when none is stored yet. */
  private async newestStored(): Promise<{ machine: CompiledMachine; version: number } | undefined> {
    const stored = await this.options.store.loadMachine(this.machineId);
    if (!stored) return undefined;
    const machine = this.options.compile(stored.definition);
    if (machine.id !== this.machineId) throw new ChartError('definition_invalid', `The stored machine "${this.machineId}" has the id "${machine.id}".`);
    return { machine, version: stored.version };
  }
}
