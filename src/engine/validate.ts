import { DefinitionError, type DefinitionProblem } from './definition';
import { messageOf } from './errors';
import { compileMachine, type Implementations } from './machine';
import { compileJavaScript } from './sandbox';

/**
 * The checks a deploy makes, for the editor as the definition is typed: the implementations'
 * JavaScript, the definition, XState's own construction and the initial state. Every problem comes
 * with the JSON path of its culprit in the definition ('' when it concerns the whole, or the
 * implementations).
 */
export function validateDefinition(definition: unknown, implementationsCode?: string): { ok: boolean; problems: DefinitionProblem[] } {
  let implementations: Implementations;
  try {
    implementations = compileJavaScript(implementationsCode);
  } catch (err) {
    return { ok: false, problems: [{ path: '', message: messageOf(err) }] };
  }
  try {
    compileMachine(definition, { implementations });
    return { ok: true, problems: [] };
  } catch (err) {
    if (err instanceof DefinitionError) return { ok: false, problems: err.problems };
    return { ok: false, problems: [{ path: '', message: messageOf(err) }] };
  }
}
