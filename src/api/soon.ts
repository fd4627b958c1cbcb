// Running a function on a later turn of the event loop, after the messages that arrived meanwhile: what the
// engine loop does between steps and the TextModel between batches of credit. Node has setImmediate; a page
// or a Web Worker has none, and its setTimeout(0) waits at least 4 ms once nested, which would cap decoding
// at 250 steps a second, so there a MessageChannel's message (a task of its own, not clamped) runs it.

type Later = (fn: () => void) => void;

function channelLater(): Later {
  const queue: (() => void)[] = [];
  // The page's MessageChannel (this project compiles without the DOM library, hence the shape).
  const channel = new MessageChannel() as unknown as { port1: { onmessage: () => void }; port2: { postMessage(m: null): void } };
  channel.port1.onmessage = () => queue.shift()?.();
  return (fn) => {
    queue.push(fn);
    channel.port2.postMessage(null);
  };
}

const host = globalThis as { setImmediate?: (fn: () => void) => unknown };
let later: Later | null = null;

/** Calls `fn` on a later task of the event loop. */
export function soon(fn: () => void): void {
  later ??= typeof host.setImmediate === 'function' ? (f) => void host.setImmediate!(f) : channelLater();
  later(fn);
}
