// Ctrl-C (SIGINT) and SIGTERM during a long command: the first asks the work to stop at its next safe
// point (a training run finishes its step and writes a checkpoint); a second ends the process at once,
// with the signal's default action, which the crash-safe writes make harmless.
//
// Not here: what stopping means for the work (the caller polls `requested`).

import { constants } from 'node:os';

const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

export class StopRequests {
  /** The first signal received, or null. */
  requested: NodeJS.Signals | null = null;
  private readonly handler = (signal: NodeJS.Signals) => {
    if (this.requested !== null) {
      this.dispose();
      process.kill(process.pid, signal);
      return;
    }
    this.requested = signal;
    this.onFirst(signal);
  };

  constructor(private readonly onFirst: (signal: NodeJS.Signals) => void) {
    for (const s of SIGNALS) process.on(s, this.handler);
  }

  dispose(): void {
    for (const s of SIGNALS) process.off(s, this.handler);
  }
}

/** The exit status of a process ended by `signal`, by the shell convention (130 for SIGINT). */
export function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 0);
}
