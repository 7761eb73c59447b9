/**
 * The import graph of src/ has no cycle and keeps its layers: read from the source of every .ts file
 * (static imports, `import type`, `export ... from`, dynamic `import()`).
 *
 * Type-only imports count: a cycle through a type is still two modules that each need the other to be understood,
 * and today's four cycles all run through at least one type import (without types the graph had none).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { adjacencyOf, type Edge, findCycles, parseImports, readGraph, stripComments } from '../support/import-graph.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** A layer rule: no file whose path matches `from` imports a module whose path or package name matches `to`. */
interface LayerRule {
  name: string;
  from: RegExp;
  to: RegExp;
}

const LAYERS: LayerRule[] = [
  { name: 'jobs and services never import listeners', from: /^src\/(jobs|services)\//, to: /^src\/listeners\// },
  { name: 'services never import a Slack package', from: /^src\/services\//, to: /^@slack\// },
  {
    name: 'the store never imports listeners, jobs, blocks or a Slack package',
    from: /^src\/store\//,
    to: /^(src\/(listeners|jobs|blocks)\/|@slack\/)/,
  },
  { name: 'listeners never call the AWS SDK', from: /^src\/listeners\//, to: /^@aws-sdk\// },
  {
    name: 'blocks never import listeners, jobs, handlers or the AWS SDK',
    from: /^src\/blocks\//,
    to: /^(src\/(listeners|jobs|handlers)\/|@aws-sdk\/)/,
  },
  { name: 'nothing imports a Lambda entry point', from: /^src\//, to: /^src\/handlers\// },
  {
    name: 'only jobs and the runner import the run table (the kinds\u2019 run parts: worker code, kept out of the Slack bundle)',
    from: /^src\/(?!jobs\/|services\/runner\/)/,
    to: /^src\/services\/runner\/kinds\.ts$/,
  },
  {
    // ~100 KB of every bundle for one call: the worker is invoked by one signed request (src/jobs/lambda-invoke.ts)
    name: 'nothing imports the SDK\u2019s Lambda client (the Invoke is src/jobs/lambda-invoke.ts)',
    from: /^src\//,
    to: /^@aws-sdk\/client-lambda/,
  },
];

/**
 * What main had when this test was written (issue 18), listed so each step commits green: the test fails on any
 * cycle or breach not listed here, and on a listed one that is gone (so the lists only shrink). Empty them to see
 * the test fail on that code.
 */
const KNOWN_CYCLES: string[] = [];
const KNOWN_BREACHES: string[] = [];

/** The kinds' names (src/services/plans/types.ts REQUEST_KINDS), as a branch on them is written. */
const KIND_NAMES = 'create-user|add-to-group|remove-from-group|set-owner|rotate-key|offboard';
/**
 * A branch on a kind's name: `kind === 'x'`, `kindOf(r) !== 'x'`, `'x' === kind`, `case 'x'`, or the old requests'
 * default `?? 'create-user'`. What a kind does belongs in its module under src/kinds/ (see src/kinds/registry.ts).
 */
const KIND_BRANCH = new RegExp(
  `(kind|\\))\\s*[!=]==\\s*'(${KIND_NAMES})'|'(${KIND_NAMES})'\\s*[!=]==|case\\s+'(${KIND_NAMES})'|\\?\\?\\s*'create-user'`,
);
const graph = (edges: Array<[string, string]>) =>
  adjacencyOf(
    edges.map(([from, to]) => ({ from, to, typeOnly: false, dynamic: false, external: false })),
    { types: true },
  );

const breaches = (edges: Edge[], rules: LayerRule[]) =>
  rules.flatMap((rule) =>
    edges
      .filter((e) => rule.from.test(e.from) && rule.to.test(e.to))
      .map((e) => `${rule.name}: ${e.from} imports ${e.to}`),
  );

describe('the import graph reader', () => {
  it('reads static, type-only, re-export, side-effect and dynamic imports and skips comments', () => {
    // Prepare
    const source = [
      "import { a } from './a.js';",
      "import type { B } from './b.js';",
      "import { type C, type D } from './c.js';",
      "import { type E, f } from './e.js';",
      "export { g } from './g.js';",
      "export type { H } from './h.js';",
      "export * from './star.js';",
      "import './side.js';",
      'import {',
      '  multi,',
      '  type Line,',
      "} from './multi.js';",
      "// import { no } from './commented.js';",
      "/* import { no } from './block.js'; */",
      'const text = \'import { no } from "./in-a-string.js"\';',
      "const lazy = () => import('./lazy.js');",
    ].join('\n');

    // Act
    const refs = parseImports(source);

    // Assess
    expect(refs.map((r) => `${r.specifier}${r.typeOnly ? ' type' : ''}${r.dynamic ? ' dynamic' : ''}`).sort()).toEqual(
      [
        './a.js',
        './b.js type',
        './c.js type',
        './e.js',
        './g.js',
        './h.js type',
        './lazy.js dynamic',
        './multi.js',
        './side.js',
        './star.js',
      ].sort(),
    );
  });

  it('finds every cycle of a small graph, each printed as a path back to its start', () => {
    // Prepare: a <-> b, and c -> d -> e -> c, with f only leading into the second cycle
    const adjacency = graph([
      ['a', 'b'],
      ['b', 'a'],
      ['c', 'd'],
      ['d', 'e'],
      ['e', 'c'],
      ['f', 'c'],
      ['a', 'f'],
    ]);

    // Act
    const cycles = findCycles(adjacency).map((c) => c.join(' -> '));

    // Assess
    expect(cycles.sort()).toEqual(['a -> b -> a', 'c -> d -> e -> c']);
  });

  it('finds no cycle in a graph without one', () => {
    expect(
      findCycles(
        graph([
          ['a', 'b'],
          ['b', 'c'],
          ['a', 'c'],
        ]),
      ),
    ).toEqual([]);
  });

  it('sees a branch on a kind\u2019s name, however it is written, and not a mere mention of one', () => {
    expect(
      [
        "if (kind === 'set-owner') x();",
        "kindOf(request) !== 'create-user'",
        "  case 'offboard':",
        "const k = r.kind ?? 'create-user';",
        "'rotate-key' === r.kind",
        "approvalRule(policy, groups, 'create-user')",
        "const id = 'add-to-group';",
      ].map((line) => KIND_BRANCH.test(line)),
    ).toEqual([true, true, true, true, true, false, false]);
  });

  it('reports an import that breaks a layer rule', () => {
    // Prepare
    const edges: Edge[] = [
      { from: 'src/jobs/x.ts', to: 'src/listeners/y.ts', typeOnly: false, dynamic: false, external: false },
      { from: 'src/services/x.ts', to: '@slack/bolt', typeOnly: true, dynamic: false, external: true },
      { from: 'src/listeners/y.ts', to: 'src/services/x.ts', typeOnly: false, dynamic: false, external: false },
    ];

    // Act
    const found = breaches(edges, LAYERS);

    // Assess
    expect(found).toEqual([
      'jobs and services never import listeners: src/jobs/x.ts imports src/listeners/y.ts',
      'services never import a Slack package: src/services/x.ts imports @slack/bolt',
    ]);
  });
});

describe('the import graph of src/', () => {
  const { files, edges } = readGraph(root);

  it('reads every file of src/ and resolves every relative import to a file', () => {
    expect(files.length).toBeGreaterThan(100);
    expect(edges.filter((e) => !e.external).length).toBeGreaterThan(300);
  });

  it('has no cycle, type-only imports included (beyond the known ones, while they last)', () => {
    // Act
    const cycles = findCycles(adjacencyOf(edges, { types: true })).map((c) => c.join(' -> '));

    // Assess
    if (cycles.length > 0) console.error(`import cycles (${cycles.length}):\n${cycles.join('\n')}`);
    expect(cycles.sort()).toEqual([...KNOWN_CYCLES].sort());
  });

  it('keeps its layers (beyond the known breaches, while they last)', () => {
    // Act
    const found = breaches(edges, LAYERS);

    // Assess
    if (found.length > 0) console.error(`layer breaches (${found.length}):\n${found.join('\n')}`);
    expect(found.sort()).toEqual([...KNOWN_BREACHES].sort());
  });

  it('branches on a kind\u2019s name nowhere outside src/kinds/ (the kinds\u2019 modules and their registry)', () => {
    // Act
    const branching = files.filter(
      (f) => !f.startsWith('src/kinds/') && KIND_BRANCH.test(stripComments(readFileSync(join(root, f), 'utf8'))),
    );

    // Assess
    expect(branching).toEqual([]);
  });
});
