import * as vm from 'node:vm';
import { assign, log, raise, sendTo } from 'xstate';
import { ChartError, messageOf } from './errors';
import { errorText } from './texts';
import type { Implementations } from './machine';

export interface SandboxOptions {
  /** Longest a single call of user code may run; an infinite loop is cut here. */
  timeoutMs?: number;
  /** The node's environment variables (`env.get(name)`), as the Function node offers them. */
  env?: (name: string) => unknown;
  /** Where `console.log` and XState's `log` action write. */
  log?: (message: unknown) => void;
}

export const DEFAULT_TIMEOUT_MS = 1000;
const SECTIONS = ['actions', 'guards', 'delays'] as const;

type AnyFunction = (...args: unknown[]) => unknown;

/**
 * Runs the `implementations` property of a chart node the way Node-RED's Function node runs its
 * code: in a `vm` context of its own, with XState's `assign`, `raise`, `sendTo`, `log` and the node's
 * `env`, returning `{ actions, guards, delays }`. Every function it returns is wrapped so that each
 * call runs inside the context with a timeout. The code only ever comes from the node's property.
 */
export function compileJavaScript(code: string | undefined, options: SandboxOptions = {}): Implementations {
  if (!code || code.trim() === '') return {};
  const timeout = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const write = options.log ?? (() => {});
  // Promise callbacks run inside the call that queued them, so the timeout covers them too.
  const context = vm.createContext(
    {
      console: { log: write, info: write, warn: write, error: write, debug: write },
      env: { get: (name: string) => options.env?.(String(name)) },
      JSON,
      Math,
      Date,
    },
    { microtaskMode: 'afterEvaluate' },
  );
  const invoker = new vm.Script('__call.fn.apply(null, __call.args)', { filename: 'implementations.js' });
  const call = (fn: AnyFunction, args: unknown[]): unknown => {
    const previous = context.__call;
    context.__call = { fn, args };
    try {
      return invoker.runInContext(context, { timeout });
    } catch (err) {
      if ((err as { code?: string }).code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') {
        throw new ChartError('implementation_error', errorText('implementationTimeout', { ms: timeout }));
      }
      throw err;
    } finally {
      context.__call = previous;
    }
  };
  const wrap = (fn: AnyFunction): AnyFunction => (...args: unknown[]) => call(fn, args);
  /** A function stays a call under the timeout; an object's function members too (assign's, options'). */
  const wrapped = (value: unknown): unknown => {
    if (typeof value === 'function') return wrap(value as AnyFunction);
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      return Object.fromEntries(Object.entries(value).map(([key, member]) => [key, typeof member === 'function' ? wrap(member as AnyFunction) : member]));
    }
    return value;
  };
  // XState's action creators must stay XState's own (they are applied inside the pure
  // transition); the functions given to them are user code, and each call of one runs under the
  // timeout.
  const creators: Record<string, AnyFunction> = { assign, raise, sendTo, log } as never;
  for (const [name, creator] of Object.entries(creators)) {
    context[name] = (...args: unknown[]) => creator(...args.map(wrapped));
  }

  let result: unknown;
  try {
    result = new vm.Script(`(function () {\n${code}\n})()`, { filename: 'implementations.js' }).runInContext(context, { timeout });
  } catch (err) {
    throw new ChartError('definition_invalid', errorText('implementationsFailed', { message: messageOf(err) }));
  }
  if (result === null || typeof result !== 'object') {
    throw new ChartError('definition_invalid', errorText('implementationsNotObject'));
  }
  const implementations: Implementations = {};
  for (const section of SECTIONS) {
    const entries = (result as Record<string, unknown>)[section];
    if (entries === undefined) continue;
    if (entries === null || typeof entries !== 'object') {
      throw new ChartError('definition_invalid', errorText('implementationsSection', { section }));
    }
    const out: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(entries)) {
      const isXStateAction = typeof value === 'function' && 'resolve' in value;
      if (section === 'delays' && typeof value === 'number') out[name] = value;
      else if (isXStateAction) out[name] = value;
      else if (typeof value === 'function') out[name] = wrap(value as AnyFunction);
      else throw new ChartError('definition_invalid', section === 'delays' ? errorText('delayNotFunction', { section, name }) : errorText('implementationNotFunction', { section, name }));
    }
    implementations[section] = out;
  }
  return implementations;
}
