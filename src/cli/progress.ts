// A one-line progress bar on stderr for long work (training epochs). On a terminal it
// redraws in place at most every 100 ms; elsewhere (CI logs) it stays silent and the
// caller prints one line per epoch.

const WIDTH = 28;

export class Progress {
  private last = 0;
  private readonly tty = process.stderr.isTTY === true;
  private readonly started = performance.now();

  constructor(
    private readonly label: string,
    private readonly quiet = false,
  ) {}

  update(done: number, total: number, note = ""): void {
    if (this.quiet || !this.tty) return;
    const now = performance.now();
    if (now - this.last < 100 && done < total) return;
    this.last = now;
    const frac = total > 0 ? Math.min(1, done / total) : 0;
    const filled = Math.round(frac * WIDTH);
    const elapsed = (now - this.started) / 1000;
    const eta = frac > 0 ? elapsed / frac - elapsed : 0;
    const bar = "█".repeat(filled) + "░".repeat(WIDTH - filled);
    process.stderr.write(`\r${this.label} ${bar} ${done}/${total} ${note}  ${elapsed.toFixed(0)}s<${eta.toFixed(0)}s\x1b[K`);
  }

  done(): void {
    if (!this.quiet && this.tty) process.stderr.write("\r\x1b[K");
  }
}
