// A line chart on a canvas: a few series of (x, y) points, axes with round ticks, a legend. Redrawn whole
// on every change (a few hundred points at most); sharp on high-density screens.

export interface Series {
  name: string;
  color: string;
  points: [number, number][];
  /** Draw each point as a dot too (sparse series such as validation loss). */
  dots?: boolean;
  dashed?: boolean;
}

export interface ChartOptions {
  xLabel: string;
  yLabel: string;
  /** The x range shown at least (e.g. the planned steps). */
  xMax?: number;
  /** Start the y axis at 0 rather than near the smallest value. */
  yFromZero?: boolean;
  formatY?: (y: number) => string;
}

const PAD = { left: 58, right: 16, top: 26, bottom: 38 };

export class LineChart {
  private series: Series[] = [];

  constructor(private readonly canvas: HTMLCanvasElement, private readonly options: ChartOptions) {
    new ResizeObserver(() => this.draw()).observe(canvas);
  }

  setSeries(series: Series[]): void {
    this.series = series;
    this.draw();
  }

  setXMax(xMax: number): void {
    this.options.xMax = xMax;
    this.draw();
  }

  draw(): void {
    const c = this.canvas;
    const ratio = window.devicePixelRatio || 1;
    const width = c.clientWidth || c.width;
    const height = c.clientHeight || c.height;
    if (c.width !== Math.round(width * ratio) || c.height !== Math.round(height * ratio)) {
      c.width = Math.round(width * ratio);
      c.height = Math.round(height * ratio);
    }
    const g = c.getContext('2d')!;
    g.setTransform(ratio, 0, 0, ratio, 0, 0);
    g.clearRect(0, 0, width, height);
    const o = this.options;
    const all = this.series.flatMap((s) => s.points);
    const xMax = Math.max(o.xMax ?? 0, ...all.map((p) => p[0]), 1);
    let yMin = all.length ? Math.min(...all.map((p) => p[1])) : 0;
    let yMax = all.length ? Math.max(...all.map((p) => p[1])) : 1;
    if (o.yFromZero) yMin = 0;
    if (yMax - yMin < 1e-9) [yMin, yMax] = [yMin - 0.5, yMax + 0.5];
    const yTicks = ticks(yMin, yMax, 5);
    yMin = Math.min(yMin, yTicks[0]!);
    yMax = Math.max(yMax, yTicks[yTicks.length - 1]!);
    const plotW = width - PAD.left - PAD.right;
    const plotH = height - PAD.top - PAD.bottom;
    const X = (x: number) => PAD.left + (x / xMax) * plotW;
    const Y = (y: number) => PAD.top + (1 - (y - yMin) / (yMax - yMin)) * plotH;
    const fmt = o.formatY ?? ((y: number) => trim(y));

    g.font = '12px system-ui, sans-serif';
    g.strokeStyle = '#e6e9ef';
    g.fillStyle = '#5f6b7d';
    g.lineWidth = 1;
    g.textAlign = 'right';
    g.textBaseline = 'middle';
    for (const t of yTicks) {
      g.beginPath();
      g.moveTo(PAD.left, Y(t));
      g.lineTo(PAD.left + plotW, Y(t));
      g.stroke();
      g.fillText(fmt(t), PAD.left - 6, Y(t));
    }
    g.textAlign = 'center';
    g.textBaseline = 'top';
    for (const t of ticks(0, xMax, 6)) {
      if (t > xMax) continue;
      g.fillText(trim(t), X(t), PAD.top + plotH + 6);
    }
    g.fillText(o.xLabel, PAD.left + plotW / 2, PAD.top + plotH + 22);
    g.save();
    g.translate(14, PAD.top + plotH / 2);
    g.rotate(-Math.PI / 2);
    g.textBaseline = 'middle';
    g.fillText(o.yLabel, 0, 0);
    g.restore();

    for (const s of this.series) {
      g.strokeStyle = s.color;
      g.fillStyle = s.color;
      g.lineWidth = 2;
      g.setLineDash(s.dashed ? [6, 4] : []);
      g.beginPath();
      s.points.forEach(([x, y], i) => (i === 0 ? g.moveTo(X(x), Y(y)) : g.lineTo(X(x), Y(y))));
      g.stroke();
      if (s.dots) for (const [x, y] of s.points) {
        g.beginPath();
        g.arc(X(x), Y(y), 3, 0, 2 * Math.PI);
        g.fill();
      }
    }
    g.setLineDash([]);

    // Legend, top right.
    g.textAlign = 'left';
    g.textBaseline = 'middle';
    let lx = PAD.left + plotW;
    for (const s of [...this.series].reverse()) {
      const w = g.measureText(s.name).width;
      lx -= w + 30;
      g.strokeStyle = s.color;
      g.lineWidth = 2;
      g.setLineDash(s.dashed ? [6, 4] : []);
      g.beginPath();
      g.moveTo(lx, 12);
      g.lineTo(lx + 18, 12);
      g.stroke();
      g.setLineDash([]);
      g.fillStyle = '#1d2330';
      g.fillText(s.name, lx + 23, 12);
    }
  }
}

/** About `count` round tick values covering [lo, hi]. */
function ticks(lo: number, hi: number, count: number): number[] {
  const span = hi - lo;
  const raw = span / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => span / s <= count) ?? 10 * mag;
  const out: number[] = [];
  for (let t = Math.floor(lo / step) * step; t <= hi + step * 1e-9; t += step) out.push(Number(t.toPrecision(12)));
  if (out[out.length - 1]! < hi) out.push(Number((out[out.length - 1]! + step).toPrecision(12)));
  return out;
}

function trim(x: number): string {
  return Number(x.toPrecision(6)).toString();
}
