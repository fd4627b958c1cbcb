// Readers for the published JSON-lines layouts of the zero-shot tasks of the paper's Table 1, turned into
// (context, continuation) pairs exactly as lm-evaluation-harness builds its prompts, so accuracies are
// comparable with published numbers:
//   PIQA       goal, sol1, sol2 (+ a labels file of 0/1, or a `label` field)
//   HellaSwag  activity_label, ctx_a, ctx_b (or ctx), endings, label
//   ARC        question (string, or {stem, choices}), choices {text, label} (or a list), answerKey
//   WinoGrande sentence with one '_', option1, option2, answer "1"/"2" (partial scoring: the text after the
//              blank is scored after each filled-in prefix)
//   SIQA       context, question, answerA–C (+ a labels file of 1–3, or a `label` field)
//   BoolQ      passage, question, answer (true/false) or label (0/1)
//   LAMBADA    text (the last word is the target)
// Not here: scoring (choice.ts). Files are read whole: these sets are megabytes at most.

import { existsSync, readFileSync } from 'node:fs';
import { DataError, showJson } from '../errors.js';
import { JSON_LIMITS, parseJsonLines } from '../io/json.js';

/** One multiple-choice question: each choice is a context and a continuation whose log-likelihood given
 *  the context is scored; `label` is the index of the correct choice. */
export interface ChoiceItem {
  choices: { context: string; continuation: string }[];
  label: number;
}

export interface LambadaItem {
  context: string;
  /** The last word with its leading space. */
  target: string;
}

export const CHOICE_TASKS = ['piqa', 'hellaswag', 'arc', 'winogrande', 'siqa', 'boolq'] as const;
export type ChoiceTask = (typeof CHOICE_TASKS)[number];

type Row = Record<string, unknown>;

/** Non-blank lines of a JSON-lines file as objects, with their 1-based line numbers. */
export function readJsonLines(file: string): { line: number; row: Row }[] {
  if (!existsSync(file)) throw new DataError(`task file not found: ${file}`);
  const out = parseJsonLines(readFileSync(file, 'utf8'), file, { maxSize: JSON_LIMITS.line, error: DataError }).map(({ line, value }) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new DataError(`${file} line ${line}: expected a JSON object`);
    return { line, row: value as Row };
  });
  if (out.length === 0) throw new DataError(`${file}: no items`);
  return out;
}

/** One integer per non-blank line (the PIQA and SIQA label files). */
export function readLabels(file: string): number[] {
  if (!existsSync(file)) throw new DataError(`labels file not found: ${file}`);
  return readFileSync(file, 'utf8').split('\n').map((s) => s.trim()).filter((s) => s !== '').map((s, i) => {
    if (!/^-?\d+$/.test(s)) throw new DataError(`${file} line ${i + 1}: label '${s}' is not an integer`);
    return Number(s);
  });
}

class Fields {
  constructor(private readonly file: string, private readonly line: number, private readonly row: Row) {}

  private fail(field: string, expected: string): never {
    const v = this.row[field];
    throw new DataError(`${this.file} line ${this.line}: field "${field}" is ${v === undefined ? 'missing' : showJson(v, 40)}, expected ${expected}`);
  }

  has(field: string): boolean {
    return this.row[field] !== undefined;
  }

  str(field: string): string {
    const v = this.row[field];
    return typeof v === 'string' ? v : this.fail(field, 'a string');
  }

  strs(field: string): string[] {
    const v = this.row[field];
    return Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string') ? (v as string[]) : this.fail(field, 'a list of strings');
  }

  obj(field: string): Fields {
    const v = this.row[field];
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? new Fields(this.file, this.line, v as Row) : this.fail(field, 'an object');
  }

  list(field: string): Fields[] {
    const v = this.row[field];
    if (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === 'object' && x !== null)) return this.fail(field, 'a list of objects');
    return (v as Row[]).map((x) => new Fields(this.file, this.line, x));
  }

  /** An integer label (number, or a string of digits), checked to lie in [lo, hi]. */
  int(field: string, lo: number, hi: number): number {
    const v = this.row[field];
    const n = typeof v === 'number' ? v : typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : NaN;
    return Number.isInteger(n) && n >= lo && n <= hi ? n : this.fail(field, `an integer in [${lo}, ${hi}]`);
  }

  bool(field: string): boolean {
    const v = this.row[field];
    return typeof v === 'boolean' ? v : this.fail(field, 'true or false');
  }

  /** Fails with a message naming the field (for checks across fields). */
  invalid(field: string, expected: string): never {
    return this.fail(field, expected);
  }
}

function withLabels(file: string, labelsFile: string | undefined, n: number): number[] | null {
  if (labelsFile === undefined) return null;
  const labels = readLabels(labelsFile);
  if (labels.length !== n) throw new DataError(`${labelsFile}: ${labels.length} labels for ${n} items in ${file}`);
  return labels;
}

function checkLabel(labelsFile: string, i: number, label: number, lo: number, hi: number): number {
  if (label < lo || label > hi) throw new DataError(`${labelsFile} line ${i + 1}: label ${label} outside [${lo}, ${hi}]`);
  return label;
}

/** Same context for every choice, each continuation after a space (the harness's target delimiter). */
function sameContext(context: string, choices: string[], label: number): ChoiceItem {
  return { choices: choices.map((c) => ({ context, continuation: ` ${c}` })), label };
}

export function readPiqa(file: string, labelsFile?: string): ChoiceItem[] {
  const rows = readJsonLines(file);
  const labels = withLabels(file, labelsFile, rows.length);
  return rows.map(({ line, row }, i) => {
    const f = new Fields(file, line, row);
    const label = labels ? checkLabel(labelsFile!, i, labels[i]!, 0, 1) : f.int('label', 0, 1);
    return sameContext(`Question: ${f.str('goal')}\nAnswer:`, [f.str('sol1'), f.str('sol2')], label);
  });
}

/** The harness's clean-up of HellaSwag text: WikiHow "[title]" markers and other bracketed artefacts. */
export function hellaswagPreprocess(text: string): string {
  return text.trim().replace(/ \[title\]/g, '. ').replace(/\[.*?\]/g, '').replace(/ {2}/g, ' ');
}

/** Python's str.capitalize: first character upper case, the rest lower case. */
function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1).toLowerCase();
}

export function readHellaswag(file: string): ChoiceItem[] {
  return readJsonLines(file).map(({ line, row }) => {
    const f = new Fields(file, line, row);
    const ctx = f.has('ctx_a') ? `${f.str('ctx_a')} ${capitalize(f.has('ctx_b') ? f.str('ctx_b') : '')}` : f.str('ctx');
    const endings = f.strs('endings');
    const query = hellaswagPreprocess(`${f.has('activity_label') ? f.str('activity_label') : ''}: ${ctx}`);
    return sameContext(query, endings.map(hellaswagPreprocess), f.int('label', 0, endings.length - 1));
  });
}

/** ARC in the AI2 release layout (question.stem, question.choices[{text, label}]) or the flattened one
 *  (question string, choices {text: [...], label: [...]}). answerKey is one of the choice labels. */
export function readArc(file: string): ChoiceItem[] {
  return readJsonLines(file).map(({ line, row }) => {
    const f = new Fields(file, line, row);
    let question: string;
    let texts: string[];
    let keys: string[];
    if (typeof row['question'] === 'object' && row['question'] !== null) {
      const q = f.obj('question');
      question = q.str('stem');
      const cs = q.list('choices');
      texts = cs.map((c) => c.str('text'));
      keys = cs.map((c) => c.str('label'));
    } else {
      question = f.str('question');
      const cs = f.obj('choices');
      texts = cs.strs('text');
      keys = cs.strs('label');
    }
    const key = f.str('answerKey');
    const label = keys.indexOf(key);
    if (label < 0) f.invalid('answerKey', `one of the choice labels ${keys.join(', ')}`);
    return sameContext(`Question: ${question}\nAnswer:`, texts, label);
  });
}

export function readWinogrande(file: string): ChoiceItem[] {
  return readJsonLines(file).map(({ line, row }) => {
    const f = new Fields(file, line, row);
    const sentence = f.str('sentence');
    const blank = sentence.indexOf('_');
    if (blank < 0) f.invalid('sentence', "a sentence with a '_' blank");
    const after = ` ${sentence.slice(blank + 1).trim()}`;
    const prefix = sentence.slice(0, blank);
    return { choices: [f.str('option1'), f.str('option2')].map((o) => ({ context: prefix + o, continuation: after })), label: f.int('answer', 1, 2) - 1 };
  });
}

export function readSiqa(file: string, labelsFile?: string): ChoiceItem[] {
  const rows = readJsonLines(file);
  const labels = withLabels(file, labelsFile, rows.length);
  return rows.map(({ line, row }, i) => {
    const f = new Fields(file, line, row);
    const label = (labels ? checkLabel(labelsFile!, i, labels[i]!, 1, 3) : f.int('label', 1, 3)) - 1;
    return sameContext(`Q: ${f.str('context')} ${f.str('question')}\nA:`, [f.str('answerA'), f.str('answerB'), f.str('answerC')], label);
  });
}

export function readBoolq(file: string): ChoiceItem[] {
  return readJsonLines(file).map(({ line, row }) => {
    const f = new Fields(file, line, row);
    const label = f.has('answer') ? (f.bool('answer') ? 1 : 0) : f.int('label', 0, 1);
    return sameContext(`${f.str('passage')}\nQuestion: ${f.str('question')}?\nAnswer:`, ['no', 'yes'], label);
  });
}

export function readLambada(file: string): LambadaItem[] {
  return readJsonLines(file).map(({ line, row }) => {
    const f = new Fields(file, line, row);
    const text = f.str('text');
    const cut = text.lastIndexOf(' ');
    if (cut <= 0) f.invalid('text', 'a passage of more than one word');
    return { context: text.slice(0, cut), target: text.slice(cut) };
  });
}

/** Reads a choice task by name; `labelsFile` is for the layouts that keep labels apart (PIQA, SIQA). */
export function readChoiceTask(task: ChoiceTask, file: string, labelsFile?: string): ChoiceItem[] {
  switch (task) {
    case 'piqa': return readPiqa(file, labelsFile);
    case 'hellaswag': return readHellaswag(file);
    case 'arc': return readArc(file);
    case 'winogrande': return readWinogrande(file);
    case 'siqa': return readSiqa(file, labelsFile);
    case 'boolq': return readBoolq(file);
  }
}
