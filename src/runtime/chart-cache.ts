import { LRUCache } from 'lru-cache';

/**
 * Default budget of the charts kept in memory, in (estimated) bytes of memory: about 5,000 charts
 * of a small machine. A cached chart costs more than its bytes while events come fast: V8 then lets
 * the heap grow to about four times what is live before it collects, so in bench d each MiB of
 * budget cost about 6 MB of RSS (touching 100,000 charts: 445 MB with 32 MiB, 362 with 16, 294-319
 * with 8, 264 and 283 with 4). A chart that is not cached costs one grouped primary-key read at its
 * next event; where many charts are busy at once and memory is there, raise it in settings.js.
 */
export const DEFAULT_CACHE_BYTES = 4 * 1024 * 1024;

interface Sized {
  /** What the entry takes in memory, estimated: what the budget counts. */
  bytes: number;
}

/**
 * The charts a process keeps in memory between events, least recently used first out, bounded by
 * a byte budget shared by every runtime of the process (the `lru-cache` package does the
 * accounting). It is a hint that saves a read: the store decides (see ChartRuntime). Each runtime
 * has a namespace of its own, and drops it when it stops.
 */
export class ChartCache<T extends Sized = Sized> {
  private readonly lru: LRUCache<string, T>;
  private namespaces = 0;

  constructor(readonly maxBytes: number = DEFAULT_CACHE_BYTES) {
    // An entry larger than the whole budget is simply not kept.
    this.lru = new LRUCache<string, T>({ maxSize: maxBytes, sizeCalculation: (entry) => Math.max(1, entry.bytes) });
  }

  /** A view for one runtime: its keys cannot meet another runtime's. */
  namespace<U extends T>(): CacheNamespace<U> {
    const prefix = `${++this.namespaces}\u0000`;
    const lru = this.lru as unknown as LRUCache<string, U>;
    return {
      get: (key) => lru.get(prefix + key),
      set: (key, value) => void lru.set(prefix + key, value),
      delete: (key) => void lru.delete(prefix + key),
      clear: () => {
        for (const key of [...lru.keys()]) if (key.startsWith(prefix)) lru.delete(key);
      },
    };
  }

  /** Bytes held now; never more than {@link maxBytes}. */
  get bytes(): number {
    return this.lru.calculatedSize;
  }

  get size(): number {
    return this.lru.size;
  }
}

export interface CacheNamespace<T> {
  get(key: string): T | undefined;
  set(key: string, value: T): void;
  delete(key: string): void;
  clear(): void;
}
