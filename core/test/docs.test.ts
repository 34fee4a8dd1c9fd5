import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONFIG_VARS } from '../src/config.ts';
import { ERROR_CODES } from '../src/errors.ts';

/**
 * The README's error and configuration tables are the user-facing contract; they are checked against the
 * registries in code so the two cannot drift apart (the way Fastify checks its FST_ERR_* docs).
 */
const README = path.resolve(import.meta.dirname, '../../README.md');

function tableRows(markdown: string, header: string): Map<string, string[]> {
  const lines = markdown.split('\n');
  const start = lines.findIndex((line) => line.startsWith(header));
  expect(start, `README has a table starting with "${header}"`).toBeGreaterThanOrEqual(0);
  const rows = new Map<string, string[]>();
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    const cells = line
      .split(/(?<!\\)\|/)
      .slice(1, -1)
      .map((cell) => cell.trim());
    rows.set(cells[0]!.replaceAll('`', ''), cells.slice(1));
  }
  return rows;
}

describe('README tables match the code', () => {
  it('lists every error code with its status and retriability, and no others', async () => {
    const rows = tableRows(await readFile(README, 'utf8'), '| Code | HTTP | Retriable |');
    expect([...rows.keys()].sort()).toEqual(Object.keys(ERROR_CODES).sort());
    for (const [code, entry] of Object.entries(ERROR_CODES)) {
      const [status, retriable] = rows.get(code)!;
      expect(status, code).toBe(String(entry.status));
      expect(retriable, code).toBe(entry.retriable ? 'yes' : 'no');
    }
  });

  it('lists every configuration variable with its default, and no others', async () => {
    const rows = tableRows(await readFile(README, 'utf8'), '| Variable | Default |');
    expect([...rows.keys()]).toEqual(CONFIG_VARS.map((v) => v.name));
    for (const variable of CONFIG_VARS) {
      expect(rows.get(variable.name)![0], variable.name).toBe(`\`${variable.default}\``);
    }
  });

  it('mentions no BRISK_ code that does not exist', async () => {
    const text = await readFile(README, 'utf8');
    // A trailing underscore is a family (`BRISK_EVENT_*`), not a name.
    const mentioned = new Set(text.match(/\bBRISK_[A-Z_]*[A-Z]\b/g));
    const known = new Set([...Object.keys(ERROR_CODES), ...CONFIG_VARS.map((v) => v.name)]);
    expect([...mentioned].filter((name) => !known.has(name))).toEqual([]);
  });
});
