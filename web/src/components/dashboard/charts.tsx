import {
  areaPath,
  type Box,
  gaugeArc,
  linePath,
  type Plot,
  type Point,
  type Scale,
  xAt,
  yAt,
} from './chart.ts';
import { ageLabel } from './format.ts';

/**
 * Inline SVG charts. These are lightweight (plain function) components on purpose: they take formatter
 * functions as props, which a component$ boundary would have to serialise, and they inherit the dashboard's
 * scoped styles because they render as part of it.
 */
export interface Series {
  readonly label: string;
  /** A CSS colour; the legend in the card uses the same one. */
  readonly color: string;
  readonly dashed?: boolean;
  readonly points: readonly Point[];
}

export interface LineChartProps {
  readonly title: string;
  readonly series: readonly Series[];
  readonly scale: Scale;
  /** Right edge of the chart (the newest sample), epoch ms. */
  readonly nowMs: number;
  readonly spanMs: number;
  readonly gapMs: number;
  /** Size in SVG units; the chart scales to the card's width and keeps this aspect ratio. */
  readonly width: number;
  readonly height: number;
  readonly tick: (value: number) => string;
  /** Shade the area under the first series. */
  readonly fill?: boolean;
}

const MARGIN = { left: 50, right: 10, top: 8, bottom: 20 };
const X_LABELS = [0, 0.5, 1];

export function LineChart(props: LineChartProps) {
  const box: Box = {
    left: MARGIN.left,
    top: MARGIN.top,
    width: props.width - MARGIN.left - MARGIN.right,
    height: props.height - MARGIN.top - MARGIN.bottom,
  };
  const plot: Plot = {
    box,
    nowMs: props.nowMs,
    spanMs: props.spanMs,
    scale: props.scale,
    gapMs: props.gapMs,
  };
  const bottom = box.top + box.height;
  const first = props.series[0];
  return (
    <svg
      class="chart"
      viewBox={`0 0 ${props.width} ${props.height}`}
      role="img"
      aria-label={props.title}
      preserveAspectRatio="xMidYMid meet"
    >
      <g class="axis">
        {props.scale.ticks.map((tick) => (
          <g key={tick}>
            <line
              class="grid-line"
              x1={box.left}
              x2={box.left + box.width}
              y1={yAt(plot, tick)}
              y2={yAt(plot, tick)}
            />
            <text x={box.left - 8} y={yAt(plot, tick)} text-anchor="end" dominant-baseline="middle">
              {props.tick(tick)}
            </text>
          </g>
        ))}
        {X_LABELS.map((fraction) => (
          <text
            key={fraction}
            x={box.left + box.width * fraction}
            y={bottom + 14}
            text-anchor={fraction === 0 ? 'start' : fraction === 1 ? 'end' : 'middle'}
          >
            {ageLabel(props.spanMs * (1 - fraction))}
          </text>
        ))}
      </g>
      {props.fill && first !== undefined && (
        <path class="area" d={areaPath(plot, first.points)} fill={first.color} />
      )}
      {props.series.map((series) => (
        <path
          key={series.label}
          class={['line', series.dashed ? 'dashed' : '']}
          d={linePath(plot, series.points)}
          stroke={series.color}
        />
      ))}
      {props.series.map((series) => {
        const last = series.points[series.points.length - 1];
        if (last === undefined || last.v === null || last.t !== props.nowMs) return null;
        return (
          <circle
            key={series.label}
            class="now"
            cx={xAt(plot, last.t)}
            cy={yAt(plot, last.v)}
            r={series.dashed ? 2.5 : 3.5}
            fill={series.color}
          />
        );
      })}
    </svg>
  );
}

export interface GaugeProps {
  readonly title: string;
  /** 0..1, or null when unknown (the track is drawn empty). */
  readonly fraction: number | null;
  readonly color: string;
}

const GAUGE = { cx: 110, cy: 100, r: 88 };

/** A half-circle gauge; the figure itself is written by the caller under it. */
export function Gauge(props: GaugeProps) {
  const { cx, cy, r } = GAUGE;
  const value = gaugeArc(cx, cy, r, props.fraction ?? 0);
  return (
    <svg class="gauge" viewBox="0 0 220 124" role="img" aria-label={props.title}>
      <path class="gauge-track" d={gaugeArc(cx, cy, r, 1)} />
      {value !== '' && <path class="gauge-value" d={value} stroke={props.color} />}
      <text class="gauge-end" x={cx - r} y={cy + 20} text-anchor="middle">
        0 %
      </text>
      <text class="gauge-end" x={cx + r} y={cy + 20} text-anchor="middle">
        100 %
      </text>
    </svg>
  );
}
