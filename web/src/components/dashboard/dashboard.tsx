import { component$, useSignal, useStylesScoped$, useVisibleTask$ } from '@builder.io/qwik';
import type { PipelineStats } from '../../app/services.ts';
import { byteUnit, logScale, niceScale, peak, positiveRange } from './chart.ts';
import { Gauge, LineChart, type Series } from './charts.tsx';
import styles from './dashboard.css?inline';
import {
  clockTime,
  formatBytes,
  formatCount,
  formatMs,
  formatPercent,
  formatRate,
  joined,
  type Reading,
} from './format.ts';
import { type LinkEvent, type LinkState, nextLink, retryDelayMs } from './link.ts';
import { appendSample, CAPACITY, pointsOf, type Sample, toSample } from './samples.ts';

/** Served by the web server itself, which polls the feature API once for all open dashboards. */
const STREAM_URL = '/live/stats';
const SPAN_MS = CAPACITY * 1_000;
// One sample a second, and EventSource reconnects after 1 s: a longer silence is a gap, not a slope.
const GAP_MS = 3_500;
/** Longer than this without an event, the stream is reopened. */
const SILENCE_MS = 5_000;
const UNAVAILABLE = 'The feature API is not answering.';

const COLORS = {
  events: '#2f5bd3',
  lag: '#7c3aed',
  streams: '#0d9488',
  store: '#2f5bd3',
  serve: '#ea580c',
  l1: '#16a34a',
};

const LINK_LABELS: { readonly [S in LinkState]: string } = {
  snapshot: 'Snapshot',
  connecting: 'Connecting',
  live: 'Live',
  'api-down': 'API unavailable',
  reconnecting: 'Reconnecting',
};

const LINK_HINTS: { readonly [S in LinkState]: string } = {
  snapshot: 'Figures from the server render; live updates need JavaScript.',
  connecting: 'Opening the live stream.',
  live: 'Updating every second.',
  'api-down': 'The feature API is not answering; showing the last figures received.',
  reconnecting: 'Lost the connection to the server; reconnecting.',
};

interface StatProps {
  readonly testId: string;
  readonly value: number | null;
  readonly reading: Reading;
  readonly size?: 'large' | 'small';
}

/** A figure with its unit; `data-value` carries the raw number for tests and scripts ('' when unknown). */
function Stat(props: StatProps) {
  return (
    <span
      class={['stat', props.size ?? 'large']}
      data-testid={props.testId}
      data-value={props.value === null ? '' : String(props.value)}
    >
      <span class="num">{props.reading.text}</span>
      {props.reading.unit !== '' && (
        <>
          {' '}
          <span class="unit">{props.reading.unit}</span>
        </>
      )}
    </span>
  );
}

function messageOf(data: string): string {
  try {
    const parsed: unknown = JSON.parse(data);
    if (typeof parsed === 'object' && parsed !== null && 'message' in parsed) return String(parsed.message);
  } catch {
    // A malformed notice still means the API is down; the generic text says so.
  }
  return UNAVAILABLE;
}

export interface DashboardProps {
  /** Figures read on the server for the first render; null when the feature API did not answer. */
  readonly initial: PipelineStats | null;
}

export const Dashboard = component$<DashboardProps>((props) => {
  useStylesScoped$(styles);
  const history = useSignal<readonly Sample[]>(props.initial === null ? [] : [toSample(props.initial)]);
  const link = useSignal<LinkState>(props.initial === null ? 'api-down' : 'snapshot');
  const notice = useSignal(props.initial === null ? UNAVAILABLE : '');

  // biome-ignore lint/correctness/noQwikUseVisibleTask: an EventSource exists only in the browser and has no user event to start from; it opens once the dashboard is on screen and the first paint is the server's.
  useVisibleTask$(({ cleanup }) => {
    let source: EventSource | null = null;
    let retry: ReturnType<typeof setTimeout> | undefined;
    let attempt = 0;
    let heardAt = Date.now();
    function on(event: LinkEvent) {
      link.value = nextLink(link.value, event);
    }
    function reopenLater(current: EventSource) {
      current.close();
      clearTimeout(retry);
      retry = setTimeout(open, retryDelayMs(attempt++));
    }
    function open() {
      retry = undefined;
      const current = new EventSource(STREAM_URL);
      source = current;
      heardAt = Date.now();
      current.addEventListener('open', () => on('open'));
      current.addEventListener('stats', (event) => {
        heardAt = Date.now();
        let stats: PipelineStats;
        try {
          stats = JSON.parse(event.data) as PipelineStats;
        } catch {
          return;
        }
        attempt = 0;
        on('stats');
        notice.value = '';
        history.value = appendSample(history.value, toSample(stats));
      });
      current.addEventListener('unavailable', (event) => {
        heardAt = Date.now();
        attempt = 0;
        on('unavailable');
        notice.value = messageOf(event.data);
      });
      current.addEventListener('error', () => {
        on('error');
        // CONNECTING: the browser retries by itself. CLOSED: it gave up (an error status, e.g. mid-restart).
        if (current.readyState === EventSource.CLOSED) reopenLater(current);
      });
    }
    // The server sends an event every second; a connection that stays open but silent (a proxy holding it,
    // a suspended laptop) raises no error, so silence is treated as one.
    const watchdog = setInterval(() => {
      // Not while a reopen is already scheduled: that would keep pushing it back.
      if (source === null || retry !== undefined || Date.now() - heardAt < SILENCE_MS) return;
      on('error');
      reopenLater(source);
    }, 1_000);
    open();
    cleanup(() => {
      clearInterval(watchdog);
      clearTimeout(retry);
      source?.close();
    });
  });

  const samples = history.value;
  const latest = samples[samples.length - 1] ?? null;
  const nowMs = latest?.t ?? 0;
  const stale = link.value === 'api-down' || link.value === 'reconnecting';
  const chart = { nowMs, spanMs: SPAN_MS, gapMs: GAP_MS };

  const events = pointsOf(samples, 'eventsPerSecond');
  const lag = pointsOf(samples, 'slotLagBytes');
  const streams = pointsOf(samples, 'streams');
  const latency: Series[] = [
    {
      label: 'commit → store p99',
      color: COLORS.store,
      points: pointsOf(samples, 'storeP99'),
    },
    {
      label: 'commit → serve p99',
      color: COLORS.serve,
      points: pointsOf(samples, 'serveP99'),
    },
    {
      label: 'commit → store p50',
      color: COLORS.store,
      dashed: true,
      points: pointsOf(samples, 'storeP50'),
    },
    {
      label: 'commit → serve p50',
      color: COLORS.serve,
      dashed: true,
      points: pointsOf(samples, 'serveP50'),
    },
  ];
  const lagUnit = byteUnit(peak([lag]));
  const hitRatio = pointsOf(samples, 'hitRatio');

  return (
    <section class={['dashboard', { stale }]} data-testid="dashboard" data-link={link.value}>
      <header class="head">
        <div>
          <h1>Pipeline</h1>
          <p class="sub">
            WAL → features → API
            {latest !== null && (
              <>
                {' · '}figures over the last {latest.windowSeconds} s · as of {clockTime(latest.t)}
              </>
            )}
          </p>
        </div>
        <span class={['link', link.value]} role="status" title={LINK_HINTS[link.value]}>
          <span class="dot" />
          {LINK_LABELS[link.value]}
        </span>
      </header>

      {link.value === 'api-down' && (
        <div class="banner" role="alert">
          <strong>Feature API unavailable.</strong> {notice.value}{' '}
          {latest === null
            ? 'Figures appear here as soon as it answers.'
            : 'Showing the last figures received; the charts resume when it answers.'}
        </div>
      )}
      {link.value === 'reconnecting' && (
        <div class="banner" role="alert">
          <strong>Connection to the server lost.</strong> Reconnecting; the figures below are the last
          received.
        </div>
      )}

      <div class="grid">
        <article class="tile span-4">
          <h2>Events</h2>
          <Stat
            testId="stat-events"
            value={latest?.eventsPerSecond ?? null}
            reading={formatRate(latest?.eventsPerSecond ?? null)}
          />
          <p class="caption">applied per second, averaged over the window</p>
          <LineChart
            {...chart}
            title="Events per second, last two minutes"
            series={[{ label: 'events/s', color: COLORS.events, points: events }]}
            scale={niceScale(peak([events]), { steps: 3 })}
            tick={(value) => formatRate(value).text}
            width={360}
            height={130}
            fill
          />
        </article>

        <article class="tile span-4">
          <h2>Slot lag</h2>
          <Stat
            testId="stat-lag"
            value={latest?.slotLagBytes ?? null}
            reading={formatBytes(latest?.slotLagBytes ?? null)}
          />
          <p class="caption">
            {latest !== null && latest.slotLagBytes === null
              ? 'not measured by this API process'
              : 'WAL the replication slot has not confirmed'}
          </p>
          <LineChart
            {...chart}
            title="Replication slot lag, last two minutes"
            series={[{ label: 'slot lag', color: COLORS.lag, points: lag }]}
            scale={niceScale(peak([lag]), { steps: 3, unit: lagUnit })}
            tick={(value) => joined(formatBytes(value))}
            width={360}
            height={130}
            fill
          />
        </article>

        <article class="tile span-4">
          <h2>Open streams</h2>
          <Stat
            testId="stat-streams"
            value={latest?.streams ?? null}
            reading={formatCount(latest?.streams ?? null)}
          />
          <p class="caption">live feature streams served by the API</p>
          <LineChart
            {...chart}
            title="Open feature streams, last two minutes"
            series={[{ label: 'streams', color: COLORS.streams, points: streams }]}
            scale={niceScale(peak([streams]), { steps: 3, integer: true })}
            tick={(value) => formatCount(value).text}
            width={360}
            height={130}
            fill
          />
        </article>

        <article class="tile span-8">
          <h2>Latency from commit</h2>
          <div class="legend">
            <LegendRow
              label="commit → store"
              color={COLORS.store}
              testId="stat-store"
              p50={latest?.storeP50}
              p99={latest?.storeP99}
            />
            <LegendRow
              label="commit → serve"
              color={COLORS.serve}
              testId="stat-serve"
              p50={latest?.serveP50}
              p99={latest?.serveP99}
            />
          </div>
          <div class="wide">
            <LineChart
              {...chart}
              title="Latency percentiles from commit to store and to serve, last two minutes"
              series={latency}
              scale={logScale(positiveRange(latency.map((series) => series.points)))}
              tick={(value) => joined(formatMs(value))}
              width={740}
              height={210}
            />
          </div>
          <p class="caption">
            <span class="key solid" /> p99 <span class="key dashed" /> p50 · percentiles over the window,
            exact to one histogram bucket, on a log scale
          </p>
        </article>

        <article class="tile span-4">
          <h2>L1 cache</h2>
          <div class="gauge-wrap">
            <Gauge title="L1 hit ratio" fraction={latest?.hitRatio ?? null} color={COLORS.l1} />
            <div class="gauge-readout">
              <Stat
                testId="stat-l1"
                value={latest?.hitRatio ?? null}
                reading={formatPercent(latest?.hitRatio ?? null)}
              />
              <span class="caption">
                {latest === null
                  ? 'hit ratio'
                  : latest.hitRatio === null
                    ? `no lookups in ${latest.windowSeconds} s`
                    : `hit ratio over ${latest.windowSeconds} s`}
              </span>
            </div>
          </div>
          <dl class="split">
            <div>
              <dt>hits since start</dt>
              <dd>{formatCount(latest?.hits ?? null).text}</dd>
            </div>
            <div>
              <dt>misses since start</dt>
              <dd>{formatCount(latest?.misses ?? null).text}</dd>
            </div>
          </dl>
          <LineChart
            {...chart}
            title="L1 hit ratio, last two minutes"
            series={[{ label: 'hit ratio', color: COLORS.l1, points: hitRatio }]}
            scale={{ min: 0, max: 1, ticks: [0, 0.5, 1], log: false }}
            tick={(value) => `${Math.round(value * 100)} %`}
            width={360}
            height={100}
            fill
          />
        </article>
      </div>
    </section>
  );
});

interface LegendRowProps {
  readonly label: string;
  readonly color: string;
  readonly testId: string;
  readonly p50: number | null | undefined;
  readonly p99: number | null | undefined;
}

function LegendRow(props: LegendRowProps) {
  const p50 = props.p50 ?? null;
  const p99 = props.p99 ?? null;
  return (
    <div class="legend-row">
      <span class="swatch" style={{ background: props.color }} />
      <span class="legend-label">{props.label}</span>
      <span class="pct">p50</span>
      <Stat testId={`${props.testId}-p50`} value={p50} reading={formatMs(p50)} size="small" />
      <span class="pct">p99</span>
      <Stat testId={`${props.testId}-p99`} value={p99} reading={formatMs(p99)} size="small" />
    </div>
  );
}
