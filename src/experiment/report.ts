// A study's report: markdown (setup, the exact command, tables, plots, and each of the paper's claims with
// what was observed and whether it reproduced), the same content as JSON for machines, and the plots as
// SVG and PNG beside them. Not here: the numbers themselves (studies/).

import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { type PlotSpec, writePlot } from '../plot/svg.js';

export interface Claim {
  /** The paper's claim, in one line. */
  claim: string;
  /** The criterion applied at this scale. */
  criterion: string;
  /** The numbers measured. */
  observed: string;
  reproduced: boolean;
}

export interface StudyResult {
  name: string;
  title: string;
  /** Markdown sections after the setup: tables and notes. */
  sections: string[];
  plots: { name: string; caption: string; spec: PlotSpec }[];
  claims: Claim[];
  /** Everything measured, for the JSON file. */
  data: unknown;
}

export interface ReportMeta {
  command: string;
  preset: object;
  backend: string;
  corpus: string;
  seconds: number;
}

/** A markdown table; numbers are printed as given (format them first). */
export function mdTable(header: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]) => `| ${cells.map((c) => String(c).replace(/\|/g, '\\|')).join(' | ')} |`;
  return [line(header), line(header.map((_, i) => (i === 0 ? '---' : '---:'))), ...rows.map(line)].join('\n');
}

export const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : String(x));
export const f3 = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : String(x));

export function claimsTable(claims: Claim[]): string {
  return mdTable(['claim (paper)', 'criterion at this scale', 'observed', 'reproduced'], claims.map((c) => [c.claim, c.criterion, c.observed, c.reproduced ? 'yes' : '**no**']));
}

/** Writes `<dir>/<name>.md`, `<dir>/<name>.json` and the plots `<dir>/<name>-<plot>.svg|png`; returns the
 *  markdown path. */
export function writeStudyReport(dir: string, r: StudyResult, meta: ReportMeta): string {
  mkdirSync(dir, { recursive: true });
  const plots = r.plots.map((p) => ({ ...p, files: writePlot(join(dir, `${r.name}-${p.name}`), p.spec) }));
  const minutes = (meta.seconds / 60).toFixed(1);
  const md = [
    `# ${r.title}`,
    '',
    `Command: \`${meta.command}\``,
    '',
    `Backend ${meta.backend}; data: ${meta.corpus}; wall time of this invocation ${minutes} min (trained runs are reused, so a re-run only adds what is missing).`,
    '',
    `Preset: \`${JSON.stringify(meta.preset)}\``,
    '',
    ...r.sections.flatMap((s) => [s, '']),
    ...plots.flatMap((p) => [`![${p.caption}](${basename(p.files.png)})`, '', `*${p.caption}* ([SVG](${basename(p.files.svg)}))`, '']),
    '## Claims',
    '',
    claimsTable(r.claims),
    '',
  ].join('\n');
  const mdPath = join(dir, `${r.name}.md`);
  writeFileSync(mdPath, md);
  writeFileSync(join(dir, `${r.name}.json`), JSON.stringify({ study: r.name, title: r.title, ...meta, claims: r.claims, results: r.data }, null, 1) + '\n');
  return mdPath;
}
