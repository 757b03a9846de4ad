// Which deployment a candidate model version is deployed to: one per version (from a template such as
// `{model}-v{version}`, made into a name Azure ML accepts) or a fixed slot (with an alternate for
// blue/green, used when the slot is the endpoint's current default). A candidate must never land on
// the current default — that would change production before the comparison and the gate — so that
// case is an answer with a reason, not a name. Pure: the caller reads the current default.
import type { ModelRoute } from '../config/routes';

export type CandidateNaming = ModelRoute['target']['candidate'];

export type CandidateName = { ok: true; name: string } | { ok: false; reason: string };

/** Azure ML batch deployment names: a letter first, then letters, digits and hyphens, at most 32. */
const MAX_NAME = 32;

/** FNV-1a: a short, stable suffix for names that had to be shortened (no crypto needed). */
function shortHash(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0').slice(0, 6);
}

/** Turns filled-in template text into a deployment name Azure ML accepts. */
export function toDeploymentName(text: string): string {
  let name = text.replace(/[^A-Za-z0-9-]+/g, '-').replace(/-{2,}/g, '-').replace(/^-+|-+$/g, '');
  if (!/^[A-Za-z]/.test(name)) name = `m-${name}`;
  if (name.length > MAX_NAME) name = `${name.slice(0, MAX_NAME - 7).replace(/-+$/, '')}-${shortHash(text)}`;
  return name.length >= 2 ? name : `${name}-d`;
}

function same(a: string | undefined, b: string | undefined): boolean {
  return a !== undefined && b !== undefined && a.toLowerCase() === b.toLowerCase();
}

export function candidateDeploymentName(naming: CandidateNaming, modelName: string, modelVersion: string, currentDefault: string | undefined): CandidateName {
  if (naming.naming === 'perVersion') {
    const name = toDeploymentName(naming.nameTemplate.replace(/\{model\}/g, modelName).replace(/\{version\}/g, modelVersion));
    if (same(name, currentDefault)) return { ok: false, reason: `The candidate deployment name '${name}' for ${modelName}:${modelVersion} is the endpoint's current default; a candidate is never deployed over the default.` };
    return { ok: true, name };
  }
  if (!same(naming.name, currentDefault)) return { ok: true, name: naming.name };
  if (naming.alternateName && !same(naming.alternateName, currentDefault)) return { ok: true, name: naming.alternateName };
  return {
    ok: false,
    reason: `The candidate slot '${naming.name}' is the endpoint's current default (it won the last promotion) and the route names no alternateName; a candidate is never deployed over the default. Add target.candidate.alternateName for blue/green slots, or use naming: perVersion.`,
  };
}
