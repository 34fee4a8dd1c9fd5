import http from 'node:http';

/** One server-sent event as the EventSource spec parses it. */
export interface SseEvent {
  readonly id: string | null;
  readonly event: string;
  readonly data: string;
}

/**
 * A minimal EventSource for tests: node:http, so the test sees the raw protocol (comments, retry lines,
 * status codes) and controls headers such as Last-Event-ID. Events queue until next() takes them.
 */
export interface SseClient {
  readonly status: number;
  readonly events: SseEvent[];
  /** Comment lines seen (heartbeats). */
  comments: number;
  /** True once the server closed the stream. */
  ended: boolean;
  next(timeoutMs?: number): Promise<SseEvent>;
  /** Resolves with no event if none arrives within the time (to show that nothing is sent). */
  nothingFor(ms: number): Promise<SseEvent | null>;
  close(): void;
}

export function openSse(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { headers: { accept: 'text/event-stream', ...headers } }, (response) => {
      const queue: SseEvent[] = [];
      const waiters: ((event: SseEvent) => void)[] = [];
      let buffer = '';
      let taken = 0;
      const client: SseClient = {
        status: response.statusCode ?? 0,
        events: queue,
        comments: 0,
        ended: false,
        next(timeoutMs = 5_000) {
          if (taken < queue.length) return Promise.resolve(queue[taken++]!);
          return new Promise<SseEvent>((ok, fail) => {
            const timer = setTimeout(() => fail(new Error(`no event within ${timeoutMs} ms`)), timeoutMs);
            waiters.push((event) => {
              clearTimeout(timer);
              taken++;
              ok(event);
            });
          });
        },
        async nothingFor(ms) {
          try {
            return await client.next(ms);
          } catch {
            waiters.length = 0;
            return null;
          }
        },
        close() {
          request.destroy();
        },
      };
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        buffer += chunk;
        let end = buffer.indexOf('\n\n');
        while (end !== -1) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let id: string | null = null;
          let event = 'message';
          const data: string[] = [];
          let fields = 0;
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) client.comments++;
            else if (line.startsWith('id: ')) id = line.slice(4);
            else if (line.startsWith('event: ')) event = line.slice(7);
            else if (line.startsWith('data: ')) data.push(line.slice(6));
            else continue;
            fields++;
          }
          if (data.length > 0 && fields > 0) {
            const parsed = { id, event, data: data.join('\n') };
            queue.push(parsed);
            const waiter = waiters.shift();
            if (waiter) waiter(parsed);
          }
          end = buffer.indexOf('\n\n');
        }
      });
      response.on('end', () => {
        client.ended = true;
      });
      response.on('close', () => {
        client.ended = true;
      });
      response.on('error', () => {});
      resolve(client);
    });
    request.on('error', reject);
  });
}
