/**
 * An incremental parser for server-sent events (the WHATWG event-stream format): feed it decoded text as it
 * arrives, in chunks of any size, and it yields each complete event. Comments (heartbeats) are reported too,
 * so a proxy can forward them and keep intermediaries from timing the connection out.
 */
export interface SseEvent {
  readonly kind: 'event';
  readonly event: string;
  readonly data: string;
  readonly id: string | null;
}

export interface SseComment {
  readonly kind: 'comment';
  readonly text: string;
}

export class SseParser {
  private buffer = '';
  private event = '';
  private data: string[] = [];
  private id: string | null = null;

  push(chunk: string): (SseEvent | SseComment)[] {
    this.buffer += chunk;
    const out: (SseEvent | SseComment)[] = [];
    for (;;) {
      const match = /\r\n|\r|\n/.exec(this.buffer);
      // A lone \r at the end may be the first half of \r\n: wait for the next chunk.
      if (match === null || (match[0] === '\r' && match.index === this.buffer.length - 1)) break;
      const line = this.buffer.slice(0, match.index);
      this.buffer = this.buffer.slice(match.index + match[0].length);
      this.line(line, out);
    }
    return out;
  }

  private line(line: string, out: (SseEvent | SseComment)[]): void {
    if (line === '') {
      if (this.data.length > 0) {
        out.push({ kind: 'event', event: this.event || 'message', data: this.data.join('\n'), id: this.id });
      }
      this.event = '';
      this.data = [];
      return;
    }
    if (line.startsWith(':')) {
      out.push({ kind: 'comment', text: line.slice(1).trimStart() });
      return;
    }
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.event = value;
    else if (field === 'data') this.data.push(value);
    else if (field === 'id' && !value.includes('\0')) this.id = value;
  }
}

/** One event in wire format. `data` may span lines; each becomes its own `data:` line. */
export function formatSse(event: string, data: string, id?: string): string {
  const lines = data.split(/\r\n|\r|\n/).map((line) => `data: ${line}\n`);
  return `${id === undefined ? '' : `id: ${id}\n`}event: ${event}\n${lines.join('')}\n`;
}
