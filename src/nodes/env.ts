/**
 * Node-RED replaces `${VAR}` only when it is the whole property value, and leaves it in place when
 * the variable is unset. This finishes the job: every `${VAR}` in the text, unset ones as ''.
 */
export function substituteEnv(value: unknown, env: NodeJS.ProcessEnv = process.env): string {
  if (typeof value !== 'string') return '';
  return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => env[name] ?? '').trim();
}
