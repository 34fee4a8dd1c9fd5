/**
 * Milliseconds since the Unix epoch of a commit timestamp, keeping the microseconds that Date.parse drops
 * (the pipeline's commit -> paint latency is often a few milliseconds, so they matter). Accepts ISO-8601 and
 * PostgreSQL's text form (space separator, `+00` offsets); no offset means UTC. null for anything else.
 *
 * Self-contained on purpose: the page's live script embeds this function's source text.
 */
export function commitTimeMs(text: string): number | null {
  const match = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}(?::?\d{2})?)?$/.exec(
    text,
  );
  if (match === null) return null;
  const zone = match[4] ?? 'Z';
  const offset = zone === 'Z' ? 'Z' : `${zone.slice(0, 3)}:${zone.slice(3).replace(':', '') || '00'}`;
  const seconds = Date.parse(`${match[1]}T${match[2]}${offset}`);
  if (Number.isNaN(seconds)) return null;
  const fraction = match[3] === undefined ? 0 : Number(`0.${match[3]}`) * 1000;
  return seconds + fraction;
}
