// Small helpers over the page's elements: lookups that fail loudly when the HTML and the code disagree,
// number fields read with their bounds, and status lines.

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`the page has no element #${id}`);
  return el as T;
}

/** The value of a number field, clamped to its min and max; its default when empty or not a number. */
export function numberField(id: string): number {
  const input = byId<HTMLInputElement>(id);
  const value = Number(input.value);
  const fallback = Number(input.defaultValue);
  const min = input.min === '' ? -Infinity : Number(input.min);
  const max = input.max === '' ? Infinity : Number(input.max);
  const x = input.value.trim() === '' || !Number.isFinite(value) ? fallback : value;
  return Math.min(max, Math.max(min, x));
}

/** An integer number field (rounded), clamped as numberField. */
export function intField(id: string): number {
  return Math.round(numberField(id));
}

export function setStatus(el: HTMLElement, text: string, error = false): void {
  el.textContent = text;
  el.classList.toggle('error', error);
}

/** The message of anything thrown, as one line. */
export function messageOf(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).replace(/\s*\n\s*/g, ' ');
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}
