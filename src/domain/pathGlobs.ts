// Glob patterns for blob paths and model names in routes (`*` within a segment, `**` across segments,
// `?` one character, `{a,b}` alternatives, which may nest), compiled to regular expressions. The routes
// file compiles every glob when it is loaded, so a broken one stops the app at start, naming the route,
// instead of failing each matching event until Event Grid gives up on it.

export class GlobError extends Error {
  constructor(readonly glob: string, reason: string) {
    super(`glob '${glob}' is invalid: ${reason}`);
    this.name = 'GlobError';
  }
}

const cache = new Map<string, RegExp>();

/** Compiles a glob; throws a GlobError naming the position of what is wrong with it. */
export function compileGlob(glob: string): RegExp {
  const hit = cache.get(glob);
  if (hit) return hit;
  if (glob.length === 0) throw new GlobError(glob, 'it is empty');
  let re = '';
  const openGroups: number[] = [];
  const starsAt = (at: number): number => {
    let n = 0;
    while (glob[at + n] === '*') n++;
    return n;
  };
  let i = 0;
  while (i < glob.length) {
    const c = glob[i];
    if (c === '*') {
      const run = starsAt(i);
      i += run;
      if (run === 1) {
        re += '[^/]*';
      } else if (glob[i] === '/') {
        // `**/` matches zero or more whole segments. Repeats (`**/**/`, `***/`) say nothing more, but
        // each would add a nested `.*` and make a long path slow to refuse (backtracking): merged.
        re += '(?:.*/)?';
        i++;
        for (let more = starsAt(i); more >= 2 && glob[i + more] === '/'; more = starsAt(i)) i += more + 1;
      } else {
        // `**` elsewhere matches anything, across segments.
        re += '.*';
      }
      continue;
    }
    if (c === '?') re += '[^/]';
    else if (c === '{') {
      re += '(?:';
      openGroups.push(i);
    } else if (c === '}') {
      if (openGroups.length === 0) throw new GlobError(glob, `'}' at position ${i} closes no '{'`);
      openGroups.pop();
      re += ')';
    } else if (c === ',' && openGroups.length > 0) re += '|';
    else re += c.replace(/[.+^$()|[\]\\]/g, '\\$&');
    i++;
  }
  if (openGroups.length > 0) throw new GlobError(glob, `'{' at position ${openGroups[openGroups.length - 1]} is never closed`);
  const compiled = new RegExp(`^${re}$`);
  cache.set(glob, compiled);
  return compiled;
}

/** Why a glob cannot be compiled, or undefined when it can (for the routes file's schema). */
export function globProblem(glob: string): string | undefined {
  try {
    compileGlob(glob);
    return undefined;
  } catch (err) {
    if (err instanceof GlobError) return err.message;
    throw err;
  }
}

export function matchesGlob(path: string, glob: string): boolean {
  return compileGlob(glob).test(path);
}
