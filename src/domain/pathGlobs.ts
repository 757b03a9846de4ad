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

const STEP_CHAR = 0;
const STEP_NOT_SLASH = 1;
const STEP_ANY = 2;
const FORK = 3;
const END = 4;
const SLASH = 0x2f;

class GlobAutomaton implements CompiledGlob {
  // The states as parallel arrays (what each reads, where it goes), and the working sets of a `test`,
  // allocated once: matching runs for every event against every route's patterns.
  readonly #kind: Uint8Array;
  readonly #char: Int32Array;
  readonly #next: Int32Array;
  readonly #other: Int32Array;
  readonly #start: number;
  /** Per state, the step (of the current `test`) it was last added in: each state is added once per step. */
  readonly #seenAt: Int32Array;
  #stamp = 0;
  #current: Int32Array;
  #following: Int32Array;
  /** States still to enter: every state is pushed at most once per edge into it, two per fork at most. */
  readonly #pending: Int32Array;

  constructor(readonly source: string, nodes: readonly GlobNode[]) {
    const builder = new AutomatonBuilder();
    this.#start = builder.sequence(nodes, MATCH);
    const states = builder.states;
    const n = states.length;
    this.#kind = new Uint8Array(n);
    this.#char = new Int32Array(n);
    this.#next = new Int32Array(n);
    this.#other = new Int32Array(n);
    states.forEach((st, i) => {
      this.#kind[i] = st.kind === 'char' ? STEP_CHAR : st.kind === 'notSlash' ? STEP_NOT_SLASH : st.kind === 'any' ? STEP_ANY : st.kind === 'fork' ? FORK : END;
      if (st.kind === 'char') this.#char[i] = st.char.charCodeAt(0);
      if (st.kind !== 'match') this.#next[i] = st.next;
      if (st.kind === 'fork') this.#other[i] = st.other;
    });
    this.#seenAt = new Int32Array(n);
    this.#current = new Int32Array(n);
    this.#following = new Int32Array(n);
    this.#pending = new Int32Array(2 * n + 1);
  }

  /** Adds `state` and every state reachable from it without reading a character to `into` (from `size`); returns the new size. */
  #enter(state: number, into: Int32Array, size: number): number {
    const pending = this.#pending;
    let top = 0;
    pending[top++] = state;
    while (top > 0) {
      const s = pending[--top];
      if (this.#seenAt[s] === this.#stamp) continue;
      this.#seenAt[s] = this.#stamp;
      if (this.#kind[s] === FORK) {
        pending[top++] = this.#other[s];
        pending[top++] = this.#next[s];
      } else into[size++] = s;
    }
    return size;
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
    let current = this.#current;
    let following = this.#following;
    let size = this.#enter(this.#start, current, 0);
    for (let i = 0; i < path.length && size > 0; i++) {
      const c = path.charCodeAt(i);
      this.#nextStamp();
      let nextSize = 0;
      for (let k = 0; k < size; k++) {
        const s = current[k];
        const kind = this.#kind[s];
        if ((kind === STEP_CHAR && this.#char[s] === c) || (kind === STEP_NOT_SLASH && c !== SLASH) || kind === STEP_ANY) nextSize = this.#enter(this.#next[s], following, nextSize);
      }
      [current, following] = [following, current];
      size = nextSize;
    }
    for (let k = 0; k < size; k++) if (current[k] === MATCH) return true;
    return false;
  }
}

/** Whether nodes can only ever match text without a '/' (no '/' in them, nothing that crosses segments). */
function withinOneSegment(nodes: readonly GlobNode[]): boolean {
  return nodes.every((n) => {
    if (n.kind === 'literal') return !n.text.includes('/');
    if (n.kind === 'alternatives') return n.options.every(withinOneSegment);
    return n.kind === 'oneChar' || n.kind === 'segmentStar';
  });
}

/**
 * `**\/` followed by a pattern of one segment (`**\/_tmp*`, `**\/*.csv`, the default ignore patterns):
 * `(?:.*\/)?R` where R matches no '/' holds exactly when R matches what follows the path's last '/', so
 * only the name is read, not the path once per way of splitting it into folders.
 */
class LastSegmentGlob implements CompiledGlob {
  constructor(
    readonly source: string,
    private readonly name: GlobAutomaton,
  ) {}

  test(path: string): boolean {
    return this.name.test(path.slice(path.lastIndexOf('/') + 1));
  }
}

const cache = new Map<string, CompiledGlob>();

/** Compiles a glob; throws a GlobError naming the position of what is wrong with it. */
export function compileGlob(glob: string): CompiledGlob {
  const hit = cache.get(glob);
  if (hit) return hit;
  const nodes = parseGlob(glob);
  const source = `^${regexSource(nodes)}$`;
  const rest = nodes.slice(1);
  const compiled = nodes[0].kind === 'folders' && withinOneSegment(rest) ? new LastSegmentGlob(source, new GlobAutomaton(`^${regexSource(rest)}$`, rest)) : new GlobAutomaton(source, nodes);
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
