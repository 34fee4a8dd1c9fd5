import { type ChildProcessWithoutNullStreams, execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { access, mkdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';

/**
 * A Kafka-protocol cluster for integration tests: librdkafka's mock cluster (Debian `librdkafka-dev`) behind the
 * small launcher in `kafka/mock-cluster.c`, compiled with gcc on first use. Apache Kafka cannot run here; the
 * mock speaks the real wire protocol over TCP, so clients such as kafkajs run unmodified against it.
 *
 * The launcher exits when its stdin closes, so a test process that dies never leaves a cluster behind. Callers
 * still register `stop()` with their cleanup (e.g. `onCleanup(() => kafka.stop())` from ./harness.ts).
 */
export interface MockKafka {
  /** Comma-separated `host:port` list, for clients that take one string. */
  readonly bootstrap: string;
  /** One `host:port` per broker; broker id `i` listens at `brokers[i - 1]`. */
  readonly brokers: readonly string[];
  /** Closes the broker's connections and refuses new ones. Leadership does not move: its partitions stall. */
  setDown(brokerId: number): Promise<void>;
  setUp(brokerId: number): Promise<void>;
  /** Delays every response from the broker by `ms`. */
  setRtt(brokerId: number, ms: number): Promise<void>;
  /**
   * Creates a topic with replication factor min(3, brokers). Needed because the mock does not implement
   * CreateTopics; topics it auto-creates on produce or metadata requests get its default partition count.
   */
  createTopic(name: string, partitions: number): Promise<void>;
  /**
   * Moves a partition's leadership to another broker, as a controller would after a failure: clients get
   * NOT_LEADER_OR_FOLLOWER and refresh their metadata. Like auto-creation, this creates an unknown topic.
   */
  setLeader(topic: string, partition: number, brokerId: number): Promise<void>;
  /** Shuts the cluster down; SIGKILL if it has not exited after 2 s. Safe to call twice. */
  stop(): Promise<void>;
}

export interface MockKafkaOptions {
  /** Number of brokers, ids 1..brokers. Default 3. */
  readonly brokers?: number;
}

const SOURCE = path.join(import.meta.dirname, 'kafka', 'mock-cluster.c');
const CACHE_DIR = path.resolve(import.meta.dirname, '../../node_modules/.cache/brisk-mock-kafka');
const INSTALL_HINT = 'Install them with: sudo apt-get install librdkafka-dev gcc';
const STARTUP_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 2_000;

const run = promisify(execFile);

/**
 * The launcher binary, built once per source version. The cache key is the source's hash, so editing the C
 * file rebuilds it; the rename makes a half-written binary impossible to pick up.
 */
export async function mockKafkaBinary(): Promise<string> {
  const source = await readFile(SOURCE);
  const hash = createHash('sha256').update(source).update(process.arch).digest('hex').slice(0, 16);
  const binary = path.join(CACHE_DIR, hash, 'mock-cluster');
  try {
    await access(binary, 1);
    return binary;
  } catch {}
  await mkdir(path.dirname(binary), { recursive: true });
  const partial = `${binary}.${process.pid}.tmp`;
  try {
    await run('gcc', ['-O2', '-o', partial, SOURCE, '-lrdkafka']);
  } catch (error) {
    await rm(partial, { force: true });
    const { code, stderr } = error as NodeJS.ErrnoException & { stderr?: string };
    if (code === 'ENOENT')
      throw new Error(`gcc is not on PATH; it builds the mock Kafka cluster. ${INSTALL_HINT}`);
    if (/rdkafka/.test(stderr ?? '')) {
      throw new Error(`librdkafka headers or library not found (${errorLine(stderr)}). ${INSTALL_HINT}`);
    }
    throw new Error(`compiling ${SOURCE} failed:\n${stderr ?? String(error)}`);
  }
  await rename(partial, binary);
  return binary;
}

export async function startMockKafka(options: MockKafkaOptions = {}): Promise<MockKafka> {
  const count = options.brokers ?? 3;
  if (!Number.isInteger(count) || count < 1)
    throw new TypeError(`brokers must be an integer >= 1, got ${count}`);
  const binary = await mockKafkaBinary();
  const child = spawn(binary, [String(count)], { stdio: ['pipe', 'pipe', 'pipe'] });
  return attach(child, count);
}

async function attach(child: ChildProcessWithoutNullStreams, count: number): Promise<MockKafka> {
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4096);
  });
  // Writing to a launcher that already died raises EPIPE here; the exit handler reports the failure instead.
  child.stdin.on('error', () => {});
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  let exitReason: Error | undefined;

  // Replies come back in command order, one line each, so a FIFO of waiters pairs them up.
  const waiting: { resolve: () => void; reject: (error: Error) => void; command: string }[] = [];
  let onBootstrap: ((line: string) => void) | undefined;
  const lines = createInterface({ input: child.stdout });
  lines.on('line', (line) => {
    if (onBootstrap) return onBootstrap(line);
    const waiter = waiting.shift();
    if (!waiter) return;
    if (line === 'ok') waiter.resolve();
    else waiter.reject(new Error(`mock Kafka: "${waiter.command}" failed: ${line.replace(/^err /, '')}`));
  });
  child.once('close', (code, signal) => {
    exitReason = new Error(
      `mock Kafka exited (${signal ?? `code ${code}`})${stderr ? `; stderr:\n${stderr.trim()}` : ''}`,
    );
    for (const waiter of waiting.splice(0)) waiter.reject(exitReason);
  });

  const bootstrap = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`mock Kafka printed no BOOTSTRAP line within ${STARTUP_TIMEOUT_MS} ms: ${stderr}`));
    }, STARTUP_TIMEOUT_MS);
    onBootstrap = (line) => {
      onBootstrap = undefined;
      clearTimeout(timer);
      const match = /^BOOTSTRAP (\S+)$/.exec(line);
      if (match) resolve(match[1]!);
      else {
        child.kill('SIGKILL');
        reject(new Error(`mock Kafka: expected a BOOTSTRAP line, got "${line}"`));
      }
    };
    exited.then(() => {
      clearTimeout(timer);
      reject(exitReason);
    });
  });

  const command = (text: string): Promise<void> =>
    new Promise((resolve, reject) => {
      if (exitReason) return reject(exitReason);
      waiting.push({ resolve, reject, command: text });
      child.stdin.write(`${text}\n`);
    });
  const brokerId = (id: number): number => {
    if (!Number.isInteger(id) || id < 1 || id > count) {
      throw new RangeError(`broker id must be an integer in 1..${count}, got ${id}`);
    }
    return id;
  };

  let stopping: Promise<void> | undefined;
  return {
    bootstrap,
    brokers: bootstrap.split(','),
    setDown: async (id) => command(`down ${brokerId(id)}`),
    setUp: async (id) => command(`up ${brokerId(id)}`),
    setRtt: async (id, ms) => {
      if (!Number.isInteger(ms) || ms < 0) throw new RangeError(`rtt must be an integer >= 0 ms, got ${ms}`);
      return command(`rtt ${brokerId(id)} ${ms}`);
    },
    createTopic: async (name, partitions) => {
      if (!Number.isInteger(partitions) || partitions < 1) {
        throw new RangeError(`partitions must be an integer >= 1, got ${partitions}`);
      }
      return command(`topic ${topicName(name)} ${partitions}`);
    },
    setLeader: async (topic, partition, id) => {
      if (!Number.isInteger(partition) || partition < 0) {
        throw new RangeError(`partition must be an integer >= 0, got ${partition}`);
      }
      return command(`leader ${topicName(topic)} ${partition} ${brokerId(id)}`);
    },
    stop: () => {
      stopping ??= (async () => {
        if (!exitReason) child.stdin.end('quit\n');
        const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
        await exited;
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
}

/** Kafka's own rule for topic names; it also keeps the line protocol unambiguous. */
function topicName(name: string): string {
  if (!/^[a-zA-Z0-9._-]{1,249}$/.test(name)) throw new TypeError(`invalid topic name "${name}"`);
  return name;
}

function errorLine(text: string | undefined): string {
  return (text ?? '').split('\n').find((line) => /error/i.test(line)) ?? (text ?? '').trim();
}
