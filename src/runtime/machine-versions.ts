import type { CompiledMachine } from '../engine/machine';
import { NO_MIGRATE, type MigrateMap } from '../engine/migrate';

/** A version charts can run: its machine and how charts of older versions move to it. */
export interface MachineVersion {
  machine: CompiledMachine;
  version: number;
  migrate: MigrateMap;
}

/** Older versions kept compiled at once; more are compiled again when a chart on them comes by. */
const KEPT_VERSIONS = 16;

/**
 * The versions of one machine a runtime may need: the current one (new charts and charts that can
 * move to it) and older ones that charts still run on, compiled on demand from the store.
 */
export class MachineVersions {
  private readonly compiled = new Map<number, Promise<CompiledMachine>>();
  current: MachineVersion;

  constructor(
    current: { machine: CompiledMachine; version: number; migrate?: MigrateMap },
    private readonly load: (version: number) => Promise<unknown>,
    private readonly compile: (definition: unknown) => CompiledMachine,
  ) {
    this.current = { migrate: NO_MIGRATE, ...current };
    this.compiled.set(current.version, Promise.resolve(current.machine));
  }

  setCurrent(machine: CompiledMachine, version: number, migrate: MigrateMap = NO_MIGRATE): void {
    this.current = { machine, version, migrate };
    this.compiled.set(version, Promise.resolve(machine));
  }

  get(version: number): Promise<CompiledMachine> {
    let machine = this.compiled.get(version);
    if (machine) {
      // Most recently used last: the first in the map is the one to drop.
      this.compiled.delete(version);
    } else {
      machine = this.load(version).then((definition) => this.compile(definition));
      machine.catch(() => this.compiled.delete(version));
    }
    this.compiled.set(version, machine);
    for (const old of this.compiled.keys()) {
      if (this.compiled.size <= KEPT_VERSIONS) break;
      if (old !== this.current.version) this.compiled.delete(old);
    }
    return machine;
  }
}
