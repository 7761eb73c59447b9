/**
 * The import graph of `src/`: which file imports which, read from the source text (no compiler needed).
 * Used by test/unit/import-graph.test.ts to keep the graph free of cycles and layer breaches.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, posix, relative, sep } from 'node:path';

/** One import of a file: the specifier as written, and whether it brings only types. */
export interface ImportRef {
  specifier: string;
  typeOnly: boolean;
  dynamic: boolean;
}

/** Removes comments, keeping strings and template literals as they are (so `'//'` in a string stays). */
export function stripComments(text: string): string {
  return text.replace(
    /("(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'|`(?:\\.|[^`\\])*`)|\/\*[\s\S]*?\*\/|\/\/[^\n]*/g,
    (match, literal: string | undefined) => literal ?? (match.startsWith('/*') ? match.replace(/[^\n]/g, ' ') : ''),
  );
}

/** True when every named binding of an import/export clause is marked `type` (`{ type A, type B }`). */
function allNamedAreTypes(clause: string): boolean {
  const named = /^\{([\s\S]*)\}$/.exec(clause.trim());
  if (!named?.[1]) return false;
  const parts = named[1]
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
  return parts.length > 0 && parts.every((p) => /^type\s/.test(p));
}

/**
 * The imports of one TypeScript file: `import ... from`, `import type`, `import 'x'`, `export ... from`,
 * `export type ... from` and `import('x')`.
 */
export function parseImports(source: string): ImportRef[] {
  const text = stripComments(source);
  const found: ImportRef[] = [];
  const statement = /^[ \t]*(import|export)\s+(type\s+)?([^;'"`]*?)\s*from\s*(['"])([^'"]+)\4/gm;
  for (const m of text.matchAll(statement)) {
    const clause = m[3] ?? '';
    found.push({ specifier: m[5] ?? '', typeOnly: Boolean(m[2]) || allNamedAreTypes(clause), dynamic: false });
  }
  for (const m of text.matchAll(/^[ \t]*import\s*(['"])([^'"]+)\1/gm)) {
    found.push({ specifier: m[2] ?? '', typeOnly: false, dynamic: false });
  }
  for (const m of text.matchAll(/\bimport\(\s*(['"])([^'"]+)\1\s*\)/g)) {
    found.push({ specifier: m[2] ?? '', typeOnly: false, dynamic: true });
  }
  return found;
}

/** An edge of the graph: `from` imports `to` (a file under src/ for a relative import, else a package name). */
export interface Edge {
  from: string;
  to: string;
  typeOnly: boolean;
  dynamic: boolean;
  external: boolean;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return filesUnder(path);
    return path.endsWith('.ts') && !path.endsWith('.d.ts') ? [path] : [];
  });
}

/** The file a relative specifier names (`./x.js` is `x.ts`; a folder is its `index.ts`), or undefined. */
function resolveRelative(fromFile: string, specifier: string): string | undefined {
  const base = join(dirname(fromFile), specifier);
  const candidates = [
    base.replace(/\.js$/, '.ts'),
    base.replace(/\.mjs$/, '.mts'),
    `${base}.ts`,
    join(base, 'index.ts'),
    base,
  ];
  return candidates.find((c) => c.endsWith('ts') && existsSync(c) && statSync(c).isFile());
}

const normal = (root: string, path: string) => relative(root, path).split(sep).join(posix.sep);

/**
 * Every import edge of the `.ts` files under `srcDir`, with paths relative to `root` (`src/a/b.ts`).
 * Throws when a relative import names no file, so a broken parse cannot hide an edge.
 */
export function readGraph(root: string, srcDir = join(root, 'src')): { files: string[]; edges: Edge[] } {
  const files = filesUnder(srcDir).sort();
  const edges: Edge[] = [];
  for (const file of files) {
    for (const ref of parseImports(readFileSync(file, 'utf8'))) {
      if (ref.specifier.startsWith('.')) {
        const target = resolveRelative(file, ref.specifier);
        if (!target) throw new Error(`${normal(root, file)}: cannot resolve import '${ref.specifier}'`);
        edges.push({ from: normal(root, file), to: normal(root, target), ...ref, external: false });
      } else {
        edges.push({
          from: normal(root, file),
          to: ref.specifier,
          typeOnly: ref.typeOnly,
          dynamic: ref.dynamic,
          external: true,
        });
      }
    }
  }
  return { files: files.map((f) => normal(root, f)), edges };
}

/** Strongly connected components of a directed graph (Tarjan), only those that hold a cycle. */
export function cyclicComponents(adjacency: Map<string, Set<string>>): string[][] {
  let index = 0;
  const indexOf = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const result: string[][] = [];
  const nodes = new Set<string>([...adjacency.keys(), ...[...adjacency.values()].flatMap((s) => [...s])]);

  const visit = (v: string) => {
    indexOf.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    onStack.add(v);
    for (const w of adjacency.get(v) ?? []) {
      if (!indexOf.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) ?? 0, low.get(w) ?? 0));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v) ?? 0, indexOf.get(w) ?? 0));
      }
    }
    if (low.get(v) === indexOf.get(v)) {
      const component: string[] = [];
      let w: string | undefined;
      do {
        w = stack.pop();
        if (w === undefined) break;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      const selfLoop = adjacency.get(v)?.has(v) ?? false;
      if (component.length > 1 || selfLoop) result.push(component.sort());
    }
  };
  for (const v of [...nodes].sort()) if (!indexOf.has(v)) visit(v);
  return result;
}

/** The shortest path from `from` to `to` inside `within` (breadth first), or undefined. */
function shortestPath(adjacency: Map<string, Set<string>>, from: string, to: string, within: Set<string>) {
  const previous = new Map<string, string>();
  const queue = [from];
  const seen = new Set([from]);
  while (queue.length > 0) {
    const v = queue.shift() as string;
    for (const w of [...(adjacency.get(v) ?? [])].sort()) {
      if (!within.has(w)) continue;
      if (w === to) {
        const path = [to];
        for (let u: string | undefined = v; u !== undefined && u !== from; u = previous.get(u)) path.unshift(u);
        return [from, ...path];
      }
      if (seen.has(w)) continue;
      seen.add(w);
      previous.set(w, v);
      queue.push(w);
    }
  }
  return undefined;
}

/**
 * The cycles of a graph, each as a path that returns to its start (`a -> b -> a`): for every node of every
 * cyclic component, the shortest cycle through it, without repeats. Every node on a cycle appears in one.
 */
export function findCycles(adjacency: Map<string, Set<string>>): string[][] {
  const cycles = new Map<string, string[]>();
  for (const component of cyclicComponents(adjacency)) {
    const within = new Set(component);
    for (const start of component) {
      const path = shortestPath(adjacency, start, start, within);
      if (!path) continue;
      const ring = path.slice(0, -1);
      const first = ring.indexOf([...ring].sort()[0] as string);
      const rotated = [...ring.slice(first), ...ring.slice(0, first)];
      cycles.set(rotated.join(' -> '), [...rotated, rotated[0] as string]);
    }
  }
  return [...cycles.values()];
}

/** The adjacency of the edges between files of src/ (packages left out), optionally without type-only edges. */
export function adjacencyOf(edges: Edge[], { types }: { types: boolean }): Map<string, Set<string>> {
  const adjacency = new Map<string, Set<string>>();
  for (const e of edges) {
    if (e.external || (!types && e.typeOnly)) continue;
    const set = adjacency.get(e.from) ?? new Set<string>();
    set.add(e.to);
    adjacency.set(e.from, set);
  }
  return adjacency;
}
