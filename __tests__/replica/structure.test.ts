// The replica's structure, kept by a test: no import cycles inside lib/replica (type-only imports
// included — a module takes the narrow interface it needs, not the whole engine), and nothing
// outside lib/replica and lib/cli imports the replica (lib/build, tests and benchmarks excepted):
// canister bundles must never pull in node:http or BLS code.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = process.cwd();

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'node_modules' ? [] : sources(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

/** Relative imports of a file (static `import`/`export ... from`, type-only ones included), as absolute .ts paths. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+'(\.{1,2}\/[^']+)'|^\s*import\s+'(\.{1,2}\/[^']+)'/gm)].map((m) => resolve(dirname(file), (m[1] ?? m[2]).replace(/\.js$/, '.ts')));
}

function importGraph(files: string[]): Map<string, string[]> {
  return new Map(files.map((f) => [f, importsOf(f).filter((t) => files.includes(t))]));
}

function findCycle(graph: Map<string, string[]>): string[] | undefined {
  const state = new Map<string, 'active' | 'done'>();
  const stack: string[] = [];
  const visit = (f: string): string[] | undefined => {
    if (state.get(f) === 'done') return undefined;
    if (state.get(f) === 'active') return [...stack.slice(stack.indexOf(f)), f];
    state.set(f, 'active');
    stack.push(f);
    for (const t of graph.get(f)!) {
      const cycle = visit(t);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(f, 'done');
    return undefined;
  };
  for (const f of graph.keys()) {
    const cycle = visit(f);
    if (cycle) return cycle.map((p) => relative(root, p));
  }
  return undefined;
}

test('lib/replica has no import cycles', () => {
  expect(findCycle(importGraph(sources(join(root, 'lib/replica'))))).toBeUndefined();
});

test('the cycle finder finds cycles, and only cycles', () => {
  const at = (p: string) => join(root, p);
  expect(findCycle(new Map([[at('a'), [at('b')]], [at('b'), [at('c')]], [at('c'), [at('a')]]]))).toEqual(['a', 'b', 'c', 'a']);
  expect(findCycle(new Map([[at('a'), [at('b'), at('c')]], [at('b'), [at('c')]], [at('c'), []]]))).toBeUndefined();
  // It reads real imports: lib/replica/queries.ts imports composite.ts.
  expect(importsOf(at('lib/replica/queries.ts'))).toContain(at('lib/replica/composite.ts'));
});

test('nothing outside lib/replica and lib/cli imports the replica (lib/build excepted)', () => {
  const replica = join(root, 'lib/replica');
  const allowed = ['lib/replica', 'lib/cli', 'lib/build'].map((d) => join(root, d));
  const offenders = sources(join(root, 'lib'))
    .filter((f) => !allowed.some((d) => f.startsWith(d + '/')))
    .filter((f) => importsOf(f).some((t) => t.startsWith(replica + '/')) || /from\s+'shardorm\/replica'/.test(readFileSync(f, 'utf8')))
    .map((f) => relative(root, f));
  expect(offenders).toEqual([]);
  // The check sees imports: lib/cli does import the replica.
  expect(sources(join(root, 'lib/cli')).some((f) => importsOf(f).some((t) => t.startsWith(replica + '/')))).toBe(true);
});
