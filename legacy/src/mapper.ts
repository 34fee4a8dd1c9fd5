import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { briskError } from '@brisk/core';
import { XMLParser, XMLValidator } from 'fast-xml-parser';

/**
 * A runner for MyBatis mapper XML: the legacy application's own statements, executed through node-postgres with
 * bound parameters. Only static SQL is supported. Everything a mapper could do to splice values into SQL text
 * (`${...}`) or to assemble SQL at run time (`<if>`, `<foreach>`, ...) is rejected when the file is loaded, so
 * a mapper that loads can only ever send its fixed text plus `$n` values.
 */

export type StatementKind = 'select' | 'insert' | 'update' | 'delete';

export interface Statement {
  readonly id: string;
  readonly kind: StatementKind;
  /** The SQL with every `#{name}` replaced by `$n`, whitespace as written (trimmed at both ends, as MyBatis). */
  readonly text: string;
  /** `params[i]` is the property bound to `$(i + 1)`; a name used twice in the SQL appears once. */
  readonly params: readonly string[];
}

/** Anything with node-postgres' `query(text, values)`: a Pool, Client or PoolClient. */
export interface Queryable {
  query(text: string, values: unknown[]): Promise<{ rows: unknown[]; rowCount: number | null }>;
}

export interface RunResult<R> {
  readonly rows: R[];
  /** As pg reports it: rows returned by a select, rows affected by insert, update and delete. */
  readonly rowCount: number | null;
}

/**
 * Statement parameters: any object (a plain record, or an interface-typed value such as a Product), read by
 * own property name. `null` is SQL NULL; an absent or `undefined` property is a missing parameter.
 */
export type Params = object;

export interface Mapper {
  readonly namespace: string;
  /** Where the XML came from (a file path), for error messages. */
  readonly source: string;
  readonly statements: ReadonlyMap<string, Statement>;
  run<R = Record<string, unknown>>(
    db: Queryable,
    statementId: string,
    params?: Params,
  ): Promise<RunResult<R>>;
}

export const USER_ACTIVITY_MAPPER_PATH = fileURLToPath(
  new URL('../mappers/UserActivityMapper.xml', import.meta.url),
);
export const PRODUCT_MAPPER_PATH = fileURLToPath(new URL('../mappers/ProductMapper.xml', import.meta.url));

export async function loadMapper(path: string): Promise<Mapper> {
  let xmlText: string;
  try {
    xmlText = await readFile(path, 'utf8');
  } catch (error) {
    throw briskError(
      'BRISK_MAPPER_INVALID',
      `${path}: cannot read the mapper file (${error instanceof Error ? error.message : String(error)}); check the path.`,
      error,
    );
  }
  return parseMapper(xmlText, path);
}

const STATEMENT_KINDS: ReadonlySet<string> = new Set<StatementKind>(['select', 'insert', 'update', 'delete']);
// Allowed by the MyBatis DTD next to statements. None changes the SQL a statement sends (<sql> fragments are
// only reachable through <include>, which is rejected), so they are skipped rather than refused.
const IGNORED_MAPPER_ELEMENTS: ReadonlySet<string> = new Set([
  'cache',
  'cache-ref',
  'parameterMap',
  'resultMap',
  'sql',
]);
const DYNAMIC_TAGS: ReadonlySet<string> = new Set([
  'if',
  'where',
  'foreach',
  'choose',
  'when',
  'otherwise',
  'set',
  'trim',
  'include',
  'bind',
  'selectKey',
]);

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseAttributeValue: false,
  parseTagValue: false,
  trimValues: false,
  cdataPropName: '#cdata',
  commentPropName: '#comment',
  ignoreDeclaration: true,
  ignorePiTags: true,
  // Entities are decoded below instead: fast-xml-parser leaves numeric references (&#60;) undecoded and
  // passes unknown ones (&nbsp;) through, where XML requires the one and forbids the other.
  processEntities: false,
});

/** A node of fast-xml-parser's preserveOrder output: one key naming the element (or #text/#cdata/#comment). */
type XmlNode = Record<string, unknown>;

export function parseMapper(xmlText: string, source = 'mapper XML'): Mapper {
  const invalid = (problem: string) => briskError('BRISK_MAPPER_INVALID', `${source}: ${problem}`);

  const validation = XMLValidator.validate(xmlText);
  if (validation !== true) {
    const { line, col, msg } = validation.err;
    throw invalid(
      `not well-formed XML (line ${line}, column ${col ?? '?'}: ${msg}). Fix the file and reload.`,
    );
  }
  const roots = (parser.parse(xmlText) as XmlNode[]).filter(isElement);
  const root = roots[0];
  if (roots.length !== 1 || root === undefined || elementName(root) !== 'mapper') {
    throw invalid(
      `the document must have exactly one root element, <mapper> (found ${roots.map((r) => `<${elementName(r)}>`).join(', ') || 'none'}).`,
    );
  }
  const namespace = decodeEntities(attribute(root, 'namespace') ?? '', invalid).trim();
  if (namespace === '') {
    throw invalid(
      '<mapper> needs a namespace attribute (MyBatis requires one), e.g. namespace="com.example.Mapper".',
    );
  }

  const statements = new Map<string, Statement>();
  for (const node of children(root).filter(isElement)) {
    const tag = elementName(node);
    if (IGNORED_MAPPER_ELEMENTS.has(tag)) continue;
    if (!STATEMENT_KINDS.has(tag)) {
      throw invalid(
        `<${tag}> is not a MyBatis mapper element; use <select>, <insert>, <update> or <delete> (a misspelt tag would otherwise lose its statement).`,
      );
    }
    const id = decodeEntities(attribute(node, 'id') ?? '', invalid).trim();
    if (id === '') throw invalid(`a <${tag}> has no id attribute; give every statement a unique id.`);
    const previous = statements.get(id);
    if (previous !== undefined) {
      throw invalid(
        `statement id '${id}' is declared twice (<${previous.kind}> and <${tag}>); ids must be unique within a mapper, rename one.`,
      );
    }
    const raw = statementText(node, (problem) => invalid(`statement '${id}' ${problem}`));
    const { text, params } = compileSql(raw, (problem) => invalid(`statement '${id}' ${problem}`));
    statements.set(
      id,
      Object.freeze({ id, kind: tag as StatementKind, text, params: Object.freeze(params) }),
    );
  }

  return Object.freeze({
    namespace,
    source,
    statements,
    async run<R>(db: Queryable, statementId: string, params: Params = {}): Promise<RunResult<R>> {
      const statement = statements.get(statementId);
      if (statement === undefined) {
        throw briskError(
          'BRISK_MAPPER_INVALID',
          `${source} (namespace ${namespace}) has no statement '${statementId}'; it declares: ${[...statements.keys()].join(', ') || 'none'}.`,
        );
      }
      const values = statement.params.map((name) =>
        Object.hasOwn(params, name) ? (params as Record<string, unknown>)[name] : undefined,
      );
      const missing = statement.params.filter((_, i) => values[i] === undefined);
      if (missing.length > 0) {
        throw briskError(
          'BRISK_MAPPER_PARAM',
          `${source}: statement '${statementId}' needs ${missing.map((m) => `'${m}'`).join(', ')}, which the call did not pass. Pass a value for each (null for SQL NULL).`,
        );
      }
      const result = await db.query(statement.text, values);
      return { rows: result.rows as R[], rowCount: result.rowCount };
    },
  });
}

function isElement(node: XmlNode): boolean {
  const name = elementName(node);
  return name !== '#text' && name !== '#cdata' && name !== '#comment';
}

function elementName(node: XmlNode): string {
  return Object.keys(node).find((key) => key !== ':@') ?? '';
}

function children(node: XmlNode): XmlNode[] {
  return (node[elementName(node)] as XmlNode[] | undefined) ?? [];
}

function attribute(node: XmlNode, name: string): string | undefined {
  const attributes = node[':@'] as Record<string, string> | undefined;
  return attributes !== undefined && Object.hasOwn(attributes, name) ? attributes[name] : undefined;
}

/** The statement's SQL: text and CDATA in document order, comments dropped (as MyBatis does). */
function statementText(node: XmlNode, invalid: (problem: string) => Error): string {
  let text = '';
  for (const child of children(node)) {
    const name = elementName(child);
    if (name === '#comment') continue;
    if (name === '#text') {
      text += decodeEntities(String(child['#text']), invalid);
    } else if (name === '#cdata') {
      text += children(child)
        .map((part) => String(part['#text']))
        .join('');
    } else if (DYNAMIC_TAGS.has(name)) {
      throw invalid(
        `uses <${name}>, dynamic SQL this runner does not support. Write one static statement per variant, each with its own id, and choose between them in the caller.`,
      );
    } else {
      throw invalid(`contains <${name}>, which is not part of a MyBatis statement; remove it.`);
    }
  }
  const sql = text.trim();
  if (sql === '') throw invalid('has no SQL; write the statement between its tags.');
  return sql;
}

const XML_ENTITIES: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', apos: "'", quot: '"' };

function decodeEntities(text: string, invalid: (problem: string) => Error): string {
  return text.replace(/&([^;&\s]*);/g, (reference, name: string) => {
    if (Object.hasOwn(XML_ENTITIES, name)) return XML_ENTITIES[name]!;
    const numeric = /^#(?:x([0-9a-fA-F]{1,6})|([0-9]{1,7}))$/.exec(name);
    const codePoint = numeric ? Number.parseInt(numeric[1] ?? numeric[2]!, numeric[1] ? 16 : 10) : Number.NaN;
    if (codePoint > 0 && codePoint <= 0x10ffff && !(codePoint >= 0xd800 && codePoint <= 0xdfff)) {
      return String.fromCodePoint(codePoint);
    }
    throw invalid(
      `uses the entity reference ${reference}, which XML does not define; write the character itself, or &lt; &gt; &amp; &apos; &quot; or a numeric reference.`,
    );
  });
}

const PARAMETER_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const PARAMETER_OPTION = /^[A-Za-z]+\s*=\s*[^=\s]+$/;

/** `#{name}` / `#{name,jdbcType=VARCHAR}` -> `$n`; pg infers types from the statement, so the options go. */
function compileSql(sql: string, invalid: (problem: string) => Error): { text: string; params: string[] } {
  const substitution = /\$\{[^}]*\}?/.exec(sql);
  if (substitution !== null) {
    throw invalid(
      `uses ${substitution[0]}, which splices a value into the SQL text (SQL injection). Brisk only binds parameters: write #{...} instead, or a separate statement per table or column name.`,
    );
  }
  const params: string[] = [];
  let text = '';
  let rest = sql;
  for (let open = rest.indexOf('#{'); open !== -1; open = rest.indexOf('#{')) {
    const close = rest.indexOf('}', open);
    if (close === -1) throw invalid(`has a '#{' with no closing '}'; close the placeholder.`);
    const [rawName = '', ...options] = rest.slice(open + 2, close).split(',');
    const name = rawName.trim();
    if (!PARAMETER_NAME.test(name)) {
      throw invalid(
        `has the placeholder #{${rest.slice(open + 2, close)}}; its name must be a plain property name such as #{userId} (nested paths such as #{user.id} are not supported: pass a flat object).`,
      );
    }
    const badOption = options.find((option) => !PARAMETER_OPTION.test(option.trim()));
    if (badOption !== undefined) {
      throw invalid(
        `has the placeholder option '${badOption.trim()}' in #{${name}}; options look like jdbcType=VARCHAR.`,
      );
    }
    let index = params.indexOf(name);
    if (index === -1) index = params.push(name) - 1;
    text += `${rest.slice(0, open)}$${index + 1}`;
    rest = rest.slice(close + 1);
  }
  return { text: text + rest, params };
}
