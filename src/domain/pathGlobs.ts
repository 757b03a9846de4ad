// Glob patterns for blob paths and model names in routes (`*` within a segment, `**` across segments,
// `?` one character, `{a,b}` alternatives, which may nest). The routes file compiles every glob when it
// is loaded, so a broken one stops the app at start, naming the route, instead of failing each matching
// event until Event Grid gives up on it.
//
// Paths come from events, so matching must cost the same whatever the path: a glob is run as an
// automaton that follows every way of matching at once (time: path length × glob length), never by
// backtracking. A regular expression would backtrack: `scores_*_*_*_*.csv` against a 1,000-character
// name of underscores takes minutes, with the host's event loop blocked all that time.

export class GlobError extends Error {
  constructor(readonly glob: string, reason: string) {
    super(`glob '${glob}' is invalid: ${reason}`);
    this.name = 'GlobError';
  }
}

/** What a glob is made of, after `**` runs and repeated `**\/` have been merged. */
type GlobNode =
  | { kind: 'literal'; text: string }
  /** `?`: one character other than '/'. */
  | { kind: 'oneChar' }
  /** `*`: any characters within one segment. */
  | { kind: 'segmentStar' }
  /** `**` not followed by '/': any characters, across segments. */
  | { kind: 'anyStar' }
  /** `**\/`: zero or more whole segments. */
  | { kind: 'folders' }
  | { kind: 'alternatives'; options: GlobNode[][] };

/** A state of the automaton: a step that reads one character, a fork that reads none, or the end. */
type State =
  | { kind: 'char'; char: string; next: number }
  | { kind: 'notSlash'; next: number }
  | { kind: 'any'; next: number }
  | { kind: 'fork'; next: number; other: number }
  | { kind: 'match' };

/** A compiled glob; `source` is the equivalent regular expression, for messages and tests. */
export interface CompiledGlob {
  readonly source: string;
  test(path: string): boolean;
}

function parseGlob(glob: string): GlobNode[] {
  if (glob.length === 0) throw new GlobError(glob, 'it is empty');
  const groups: Array<{ at: number; options: GlobNode[][]; outer: GlobNode[] }> = [];
  let nodes: GlobNode[] = [];
  const literal = (c: string): void => {
    const last = nodes[nodes.length - 1];
    if (last?.kind === 'literal') last.text += c;
    else nodes.push({ kind: 'literal', text: c });
  };
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
      if (run === 1) nodes.push({ kind: 'segmentStar' });
      else if (glob[i] === '/') {
        // Repeats (`**/**/`, `***/`) say nothing more than one `**/`.
        i++;
        for (let more = starsAt(i); more >= 2 && glob[i + more] === '/'; more = starsAt(i)) i += more + 1;
        nodes.push({ kind: 'folders' });
      } else nodes.push({ kind: 'anyStar' });
      continue;
    }
    if (c === '?') nodes.push({ kind: 'oneChar' });
    else if (c === '{') {
      groups.push({ at: i, options: [], outer: nodes });
      nodes = [];
    } else if (c === '}') {
      const group = groups.pop();
      if (!group) throw new GlobError(glob, `'}' at position ${i} closes no '{'`);
      group.options.push(nodes);
      nodes = group.outer;
      nodes.push({ kind: 'alternatives', options: group.options });
    } else if (c === ',' && groups.length > 0) {
      groups[groups.length - 1].options.push(nodes);
      nodes = [];
    } else literal(c);
    i++;
  }
  if (groups.length > 0) throw new GlobError(glob, `'{' at position ${groups[groups.length - 1].at} is never closed`);
  return nodes;
}

function regexSource(nodes: readonly GlobNode[]): string {
  return nodes
    .map((n) => {
      switch (n.kind) {
        case 'literal':
          return n.text.replace(/[.+^$()|[\]\\]/g, '\\$&');
        case 'oneChar':
          return '[^/]';
        case 'segmentStar':
          return '[^/]*';
        case 'anyStar':
          return '.*';
        case 'folders':
          return '(?:.*/)?';
        case 'alternatives':
          return `(?:${n.options.map(regexSource).join('|')})`;
      }
    })
    .join('');
}

/** Builds the automaton back to front: each part is compiled knowing the state that follows it. */
class AutomatonBuilder {
  readonly states: State[] = [{ kind: 'match' }];

  private add(state: State): number {
    this.states.push(state);
    return this.states.length - 1;
  }

  /** A state that loops over one character of `kind` any number of times, then goes on to `next`. */
  private loop(kind: 'notSlash' | 'any', next: number): number {
    const fork = this.add({ kind: 'fork', next: -1, other: next });
    const step = this.add({ kind, next: fork });
    (this.states[fork] as { next: number }).next = step;
    return fork;
  }

  sequence(nodes: readonly GlobNode[], next: number): number {
    let entry = next;
    for (let i = nodes.length - 1; i >= 0; i--) entry = this.node(nodes[i], entry);
    return entry;
  }

  private node(n: GlobNode, next: number): number {
    switch (n.kind) {
      case 'literal': {
        let entry = next;
        for (let i = n.text.length - 1; i >= 0; i--) entry = this.add({ kind: 'char', char: n.text[i], next: entry });
        return entry;
      }
      case 'oneChar':
        return this.add({ kind: 'notSlash', next });
      case 'segmentStar':
        return this.loop('notSlash', next);
      case 'anyStar':
        return this.loop('any', next);
      case 'folders': {
        // Either nothing, or anything up to and including a '/'.
        const slash = this.add({ kind: 'char', char: '/', next });
        const anything = this.loop('any', slash);
        return this.add({ kind: 'fork', next: anything, other: next });
      }
      case 'alternatives': {
        const entries = n.options.map((option) => this.sequence(option, next));
        let entry = entries[entries.length - 1];
        for (let i = entries.length - 2; i >= 0; i--) entry = this.add({ kind: 'fork', next: entries[i], other: entry });
        return entry;
      }
    }
  }
}

const MATCH = 0;

class GlobAutomaton implements CompiledGlob {
  readonly #states: State[];
  readonly #start: number;
  /** Per state, the step (of the current `test`) it was last added in: each state is added once per step. */
  readonly #seenAt: Int32Array;
  #stamp = 0;

  constructor(readonly source: string, nodes: readonly GlobNode[]) {
    const builder = new AutomatonBuilder();
    this.#start = builder.sequence(nodes, MATCH);
    this.#states = builder.states;
    this.#seenAt = new Int32Array(this.#states.length);
  }

  /** Adds `state` and every state reachable from it without reading a character. */
  #enter(state: number, into: number[]): void {
    const pending = [state];
    for (let s = pending.pop(); s !== undefined; s = pending.pop()) {
      if (this.#seenAt[s] === this.#stamp) continue;
      this.#seenAt[s] = this.#stamp;
      const st = this.#states[s];
      if (st.kind === 'fork') pending.push(st.other, st.next);
      else into.push(s);
    }
  }

  #nextStamp(): void {
    if (this.#stamp === 0x7fffffff) {
      this.#seenAt.fill(0);
      this.#stamp = 0;
    }
    this.#stamp++;
  }

  test(path: string): boolean {
    this.#nextStamp();
    let current: number[] = [];
    this.#enter(this.#start, current);
    for (let i = 0; i < path.length && current.length > 0; i++) {
      const c = path[i];
      this.#nextStamp();
      const next: number[] = [];
      for (const s of current) {
        const st = this.#states[s];
        if ((st.kind === 'char' && st.char === c) || (st.kind === 'notSlash' && c !== '/') || st.kind === 'any') this.#enter(st.next, next);
      }
      current = next;
    }
    return current.includes(MATCH);
  }
}

const cache = new Map<string, CompiledGlob>();

/** Compiles a glob; throws a GlobError naming the position of what is wrong with it. */
export function compileGlob(glob: string): CompiledGlob {
  const hit = cache.get(glob);
  if (hit) return hit;
  const nodes = parseGlob(glob);
  const compiled = new GlobAutomaton(`^${regexSource(nodes)}$`, nodes);
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
