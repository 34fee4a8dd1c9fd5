import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The folder tree mirrors the dataflow (legacy -> cdc -> bus -> features -> store -> api), and a stage never
 * imports from a stage downstream of it. `core` is the shared kernel; `cli` composes everything. This test
 * reads every import of every package and fails on a backward edge or an undeclared workspace dependency.
 */
const ROOT = path.resolve(import.meta.dirname, '../..');
const FLOW = ['legacy', 'cdc', 'bus', 'features', 'store', 'api', 'web'] as const;
const PACKAGES = ['core', ...FLOW, 'cli'] as const;

function allowed(from: string, to: string): boolean {
  if (to === 'core' || from === 'cli') return to !== from;
  if (from === 'core' || to === 'cli') return false;
  const a = FLOW.indexOf(from as (typeof FLOW)[number]);
  const b = FLOW.indexOf(to as (typeof FLOW)[number]);
  // legacy is the application's side of the database: nothing in the pipeline depends on it. The storefront
  // is the application's page, so it writes clicks through the legacy mapper.
  return (to !== 'legacy' || from === 'web') && b < a;
}

async function sources(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const files = await Promise.all(
    entries.map((e) => (e.isDirectory() ? sources(path.join(dir, e.name)) : [path.join(dir, e.name)])),
  );
  return files.flat().filter((f) => f.endsWith('.ts') || f.endsWith('.tsx'));
}

async function workspaceImports(pkg: string): Promise<Map<string, string[]>> {
  const found = new Map<string, string[]>();
  for (const file of await sources(path.join(ROOT, pkg, 'src'))) {
    const text = await readFile(file, 'utf8');
    for (const match of text.matchAll(/(?:from|import)\s*\(?\s*'@brisk\/([a-z]+)/g)) {
      const target = match[1]!;
      found.set(target, [...(found.get(target) ?? []), path.relative(ROOT, file)]);
    }
  }
  return found;
}

describe('stage boundaries', () => {
  it.each(PACKAGES)('%s imports only upstream stages and declares them', async (pkg) => {
    const imports = await workspaceImports(pkg);
    const manifest = JSON.parse(await readFile(path.join(ROOT, pkg, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
    };
    for (const [target, files] of imports) {
      expect(allowed(pkg, target), `${pkg} -> ${target} in ${files.join(', ')}`).toBe(true);
      expect(
        manifest.dependencies?.[`@brisk/${target}`],
        `${pkg}/package.json declares @brisk/${target}`,
      ).toBeDefined();
    }
  });

  it('knows every workspace', async () => {
    const root = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as {
      workspaces: string[];
    };
    expect([...root.workspaces].sort()).toEqual([...PACKAGES].sort());
  });

  it('rejects a backward edge', () => {
    expect(allowed('cdc', 'store')).toBe(false);
    expect(allowed('store', 'api')).toBe(false);
    expect(allowed('features', 'legacy')).toBe(false);
    expect(allowed('api', 'store')).toBe(true);
    expect(allowed('web', 'legacy')).toBe(true);
    expect(allowed('api', 'web')).toBe(false);
  });
});
