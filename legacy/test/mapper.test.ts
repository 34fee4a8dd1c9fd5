// biome-ignore-all lint/suspicious/noTemplateCurlyInString: MyBatis ${} substitution in plain strings is what these tests feed the mapper.
import { readFile } from 'node:fs/promises';
import { BriskError, type ErrorCode } from '@brisk/core';
import { describe, expect, it } from 'vitest';
import {
  loadMapper,
  PRODUCT_MAPPER_PATH,
  parseMapper,
  type Queryable,
  USER_ACTIVITY_MAPPER_PATH,
} from '../src/mapper.ts';

const SEED_INSERT =
  'INSERT INTO user_activity (id, user_id, activity_type, product_id, activity_timestamp)\n' +
  'VALUES ($1, $2, $3, $4, $5)';

function xml(body: string): string {
  return `<?xml version="1.0" encoding="UTF-8" ?>\n<mapper namespace="test.Mapper">\n${body}\n</mapper>\n`;
}

function thrown(code: ErrorCode, action: () => unknown): BriskError {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(BriskError);
    expect((error as BriskError).code).toBe(code);
    return error as BriskError;
  }
  throw new Error('expected a BriskError, nothing was thrown');
}

async function rejected(code: ErrorCode, action: () => Promise<unknown>): Promise<BriskError> {
  const error = await action().then(
    () => {
      throw new Error('expected a BriskError, the promise resolved');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(BriskError);
  expect((error as BriskError).code).toBe(code);
  return error as BriskError;
}

/** A stand-in for a pg Pool that records what it was asked to run. */
function recorder(result: { rows: unknown[]; rowCount: number | null } = { rows: [], rowCount: 1 }) {
  const calls: { text: string; values: unknown[] }[] = [];
  const db: Queryable = {
    async query(text, values) {
      calls.push({ text, values });
      return result;
    },
  };
  return { db, calls };
}

describe('the shipped mappers', () => {
  it('compiles the seed insert to positional parameters in the order they appear', async () => {
    const mapper = await loadMapper(USER_ACTIVITY_MAPPER_PATH);
    expect(mapper.namespace).toBe('com.example.legacy.mapper.UserActivityMapper');
    expect([...mapper.statements.keys()]).toEqual(['insertActivity']);
    const insert = mapper.statements.get('insertActivity')!;
    expect(insert.kind).toBe('insert');
    expect(insert.text).toBe(SEED_INSERT);
    expect(insert.params).toEqual(['id', 'userId', 'activityType', 'productId', 'activityTimestamp']);
  });

  it('keeps the seed mapper text, with only the leading comment moved below the declaration', async () => {
    const text = await readFile(USER_ACTIVITY_MAPPER_PATH, 'utf8');
    expect(text.startsWith('<?xml version="1.0" encoding="UTF-8" ?>\n<!-- UserActivityMapper.xml')).toBe(
      true,
    );
    expect(text).toContain(
      '<insert id="insertActivity" parameterType="com.example.legacy.model.UserActivity">\n' +
        'INSERT INTO user_activity (id, user_id, activity_type, product_id, activity_timestamp)\n' +
        'VALUES (#{id}, #{userId}, #{activityType}, #{productId}, #{activityTimestamp})\n' +
        '</insert>',
    );
  });

  it('rejects the seed mapper as printed, with the comment before the XML declaration', () => {
    const asPrinted = `<!-- UserActivityMapper.xml -->\n${xml('<insert id="a">SELECT 1</insert>')}`;
    const error = thrown('BRISK_MAPPER_INVALID', () => parseMapper(asPrinted, 'UserActivityMapper.xml'));
    expect(error.message).toMatch(/^UserActivityMapper\.xml: not well-formed XML \(line 2, .*declaration/);
  });

  it('has the catalogue statements with their parameters', async () => {
    const mapper = await loadMapper(PRODUCT_MAPPER_PATH);
    const summary = Object.fromEntries(
      [...mapper.statements.values()].map((s) => [s.id, { kind: s.kind, params: s.params }]),
    );
    expect(summary).toEqual({
      insertProduct: { kind: 'insert', params: ['id', 'name', 'category', 'price'] },
      selectAllProducts: { kind: 'select', params: [] },
      selectProductById: { kind: 'select', params: ['id'] },
      updateProductCategory: { kind: 'update', params: ['category', 'id'] },
    });
    expect(mapper.statements.get('updateProductCategory')!.text).toBe(
      'UPDATE product\nSET category = $1\nWHERE id = $2',
    );
    expect(mapper.statements.get('insertProduct')!.text).toBe(
      'INSERT INTO product (id, name, category, price)\nVALUES ($1, $2, $3, $4)',
    );
  });

  it('names the file when it cannot be read', async () => {
    const error = await rejected('BRISK_MAPPER_INVALID', () => loadMapper('/nonexistent/Gone.xml'));
    expect(error.message).toContain('/nonexistent/Gone.xml');
  });
});

describe('compiling placeholders', () => {
  it('gives a repeated name the same $n', () => {
    const mapper = parseMapper(
      xml('<select id="q">SELECT * FROM t WHERE a = #{x} OR b = #{y} OR c = #{x}</select>'),
    );
    const q = mapper.statements.get('q')!;
    expect(q.text).toBe('SELECT * FROM t WHERE a = $1 OR b = $2 OR c = $1');
    expect(q.params).toEqual(['x', 'y']);
  });

  it('drops jdbcType and other type annotations', () => {
    const mapper = parseMapper(
      xml(
        '<insert id="i">INSERT INTO t VALUES (#{productId,jdbcType=VARCHAR}, #{ ts , jdbcType=TIMESTAMP_WITH_TIMEZONE, javaType=java.time.Instant }, #{productId})</insert>',
      ),
    );
    const i = mapper.statements.get('i')!;
    expect(i.text).toBe('INSERT INTO t VALUES ($1, $2, $1)');
    expect(i.params).toEqual(['productId', 'ts']);
  });

  it('keeps whitespace inside the statement exactly and trims only the ends', () => {
    const mapper = parseMapper(
      xml('<select id="q">\n\t  SELECT a,\n\t\t  b   FROM t\n\n  WHERE c = #{c}  \n</select>'),
    );
    expect(mapper.statements.get('q')!.text).toBe('SELECT a,\n\t\t  b   FROM t\n\n  WHERE c = $1');
  });

  it('reads CDATA verbatim and decodes entities in ordinary text', () => {
    const mapper = parseMapper(
      xml(
        "<select id=\"q\">SELECT * FROM t WHERE a &lt; #{max} AND s = '&amp;&#65;&#x42;' <![CDATA[AND b < #{max} AND c <> '&lt;']]></select>",
      ),
    );
    const q = mapper.statements.get('q')!;
    expect(q.text).toBe("SELECT * FROM t WHERE a < $1 AND s = '&AB' AND b < $1 AND c <> '&lt;'");
    expect(q.params).toEqual(['max']);
  });

  it('drops XML comments from the SQL', () => {
    const mapper = parseMapper(xml('<select id="q">SELECT 1 <!-- why: #{ignored} -->FROM t</select>'));
    expect(mapper.statements.get('q')).toMatchObject({ text: 'SELECT 1 FROM t', params: [] });
  });

  it('skips resultMap and sql elements, which do not change what a statement sends', () => {
    const mapper = parseMapper(
      xml(
        '<resultMap id="r" type="X"><result column="a" property="a"/></resultMap><sql id="cols">a, b</sql><select id="q">SELECT 1</select>',
      ),
    );
    expect([...mapper.statements.keys()]).toEqual(['q']);
  });
});

describe('rejected at load time', () => {
  it('rejects string substitution, naming file, statement and the fix', () => {
    const error = thrown('BRISK_MAPPER_INVALID', () =>
      parseMapper(xml('<select id="byTable">SELECT * FROM ${table} WHERE id = #{id}</select>'), 'Evil.xml'),
    );
    expect(error.message).toContain('Evil.xml');
    expect(error.message).toContain("'byTable'");
    expect(error.message).toContain('${table}');
    expect(error.message).toContain('SQL injection');
    expect(error.message).toContain('#{');
  });

  it('rejects string substitution inside CDATA too', () => {
    thrown('BRISK_MAPPER_INVALID', () =>
      parseMapper(xml('<select id="q"><![CDATA[SELECT * FROM t ORDER BY ${column}]]></select>')),
    );
  });

  it.each(['if', 'where', 'foreach', 'choose', 'set', 'trim', 'include', 'bind', 'selectKey'])(
    'rejects the dynamic SQL tag <%s>',
    (tag) => {
      const error = thrown('BRISK_MAPPER_INVALID', () =>
        parseMapper(xml(`<update id="u">UPDATE t <${tag} test="x">SET a = 1</${tag}></update>`), 'Dyn.xml'),
      );
      expect(error.message).toContain(`Dyn.xml: statement 'u' uses <${tag}>`);
    },
  );

  it('rejects <if> nested in static text', () => {
    const error = thrown('BRISK_MAPPER_INVALID', () =>
      parseMapper(
        xml(
          '<select id="find">SELECT * FROM t WHERE 1 = 1 <if test="id != null">AND id = #{id}</if></select>',
        ),
      ),
    );
    expect(error.message).toContain('<if>');
    expect(error.message).toContain("'find'");
  });

  it('rejects duplicate ids, even across statement kinds', () => {
    const error = thrown('BRISK_MAPPER_INVALID', () =>
      parseMapper(xml('<select id="a">SELECT 1</select>\n<delete id="a">DELETE FROM t</delete>'), 'Dup.xml'),
    );
    expect(error.message).toContain("Dup.xml: statement id 'a' is declared twice (<select> and <delete>)");
  });

  it.each([
    ['an unclosed statement', '<?xml version="1.0"?><mapper namespace="m"><insert id="a">SELECT 1</mapper>'],
    ['a bare <', '<mapper namespace="m"><select id="a">SELECT 1 WHERE a < 2</select></mapper>'],
    ['two roots', '<mapper namespace="m"></mapper><mapper namespace="n"></mapper>'],
    ['no XML at all', 'SELECT 1'],
    ['an undefined entity', '<mapper namespace="m"><select id="a">SELECT &nbsp;1</select></mapper>'],
  ])('rejects malformed XML: %s', (_, text) => {
    thrown('BRISK_MAPPER_INVALID', () => parseMapper(text));
  });

  it.each([
    [
      'a root other than <mapper>',
      '<mappers namespace="m"><select id="a">SELECT 1</select></mappers>',
      '<mappers>',
    ],
    ['a mapper without namespace', '<mapper><select id="a">SELECT 1</select></mapper>', 'namespace'],
    ['a statement without id', xml('<select>SELECT 1</select>'), 'no id'],
    ['an empty statement', xml('<select id="a">  </select>'), 'no SQL'],
    ['a misspelt statement tag', xml('<inssert id="a">SELECT 1</inssert>'), '<inssert>'],
    ['a nested property path', xml('<select id="a">SELECT #{user.id}</select>'), 'nested'],
    ['an unclosed placeholder', xml('<select id="a">SELECT #{id</select>'), "'#{'"],
    ['a malformed placeholder option', xml('<select id="a">SELECT #{id,VARCHAR}</select>'), 'VARCHAR'],
  ])('rejects %s', (_, text, mention) => {
    const error = thrown('BRISK_MAPPER_INVALID', () => parseMapper(text));
    expect(error.message).toContain(mention);
  });
});

describe('run', () => {
  const mapper = parseMapper(
    xml(`<insert id="insertActivity">
INSERT INTO user_activity (id, user_id, activity_type, product_id, activity_timestamp)
VALUES (#{id}, #{userId}, #{activityType}, #{productId}, #{activityTimestamp})
</insert>
<select id="count">SELECT count(*) AS n FROM user_activity</select>`),
  );

  it('sends the compiled text and the values, unchanged, in parameter order', async () => {
    const { db, calls } = recorder({ rows: [], rowCount: 1 });
    const at = new Date('2026-11-24T13:00:00.123Z');
    const result = await mapper.run(db, 'insertActivity', {
      activityTimestamp: at,
      productId: 'prod-007',
      activityType: 'VIEW_PRODUCT',
      userId: 'user-1',
      id: '00000000-0000-4000-8000-000000000001',
      ignoredExtra: 42,
    });
    expect(result).toEqual({ rows: [], rowCount: 1 });
    expect(calls).toHaveLength(1);
    expect(calls[0]!.text).toBe(SEED_INSERT);
    expect(calls[0]!.values).toEqual([
      '00000000-0000-4000-8000-000000000001',
      'user-1',
      'VIEW_PRODUCT',
      'prod-007',
      at,
    ]);
    expect(calls[0]!.values[4]).toBe(at);
  });

  it('accepts null as SQL NULL', async () => {
    const { db, calls } = recorder();
    await mapper.run(db, 'insertActivity', {
      id: 'i',
      userId: 'u',
      activityType: 'VIEW_PRODUCT',
      productId: null,
      activityTimestamp: 0,
    });
    expect(calls[0]!.values).toEqual(['i', 'u', 'VIEW_PRODUCT', null, 0]);
  });

  it('returns the rows and row count the database gave', async () => {
    const { db, calls } = recorder({ rows: [{ n: '3' }], rowCount: 1 });
    const result = await mapper.run<{ n: string }>(db, 'count');
    expect(result.rows).toEqual([{ n: '3' }]);
    expect(result.rowCount).toBe(1);
    expect(calls[0]!.values).toEqual([]);
  });

  it('refuses a call missing a parameter, naming every missing one, without touching the database', async () => {
    const { db, calls } = recorder();
    const error = await rejected('BRISK_MAPPER_PARAM', () =>
      mapper.run(db, 'insertActivity', { id: 'i', userId: 'u', productId: undefined }),
    );
    expect(error.message).toContain(
      "'insertActivity' needs 'activityType', 'productId', 'activityTimestamp'",
    );
    expect(error.status).toBe(400);
    expect(calls).toHaveLength(0);
  });

  it('does not take parameters from Object.prototype', async () => {
    const probe = parseMapper(xml('<select id="q">SELECT #{constructor}</select>'));
    const { db, calls } = recorder();
    await rejected('BRISK_MAPPER_PARAM', () => probe.run(db, 'q', {}));
    expect(calls).toHaveLength(0);
  });

  it('refuses an unknown statement id, listing the ones there are', async () => {
    const { db } = recorder();
    const error = await rejected('BRISK_MAPPER_INVALID', () => mapper.run(db, 'insertActivty', {}));
    expect(error.message).toContain("no statement 'insertActivty'");
    expect(error.message).toContain('insertActivity, count');
  });
});
