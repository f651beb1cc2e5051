/**
 * A text progress bar on stderr for the long steps of the batch commands. On a
 * terminal it redraws one line at most every 100 ms; otherwise (a log file, a
 * test) it prints a line per 10 % so the output stays short.
 */

export interface ProgressStream {
  write(text: string): boolean;
  isTTY?: boolean;
}

const BAR_WIDTH = 30;
const REDRAW_MS = 100;

const thousands = (n: number) => n.toLocaleString("en-US");

export class Progress {
  private done_ = 0;
  private lastDrawAt = 0;
  private lastDecile = -1;
  private finished = false;

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly stream: ProgressStream = process.stderr,
  ) {
    if (total === 0) {
      this.stream.write(`${label}: nothing to do\n`);
      this.finished = true;
    }
  }

  advance(count = 1): void {
    if (this.finished) return;
    this.done_ = Math.min(this.total, this.done_ + count);
    this.draw(false);
  }

  /** Draws the final state and ends the line. */
  finish(): void {
    if (this.finished) return;
    this.done_ = this.total;
    this.draw(true);
    this.finished = true;
  }

  private draw(final: boolean): void {
    const fraction = this.total === 0 ? 1 : this.done_ / this.total;
    const percent = Math.floor(fraction * 100);
    const filled = Math.round(fraction * BAR_WIDTH);
    const line = `${this.label} [${"#".repeat(filled)}${".".repeat(BAR_WIDTH - filled)}] ${String(percent).padStart(3)}% ${thousands(this.done_)}/${thousands(this.total)}`;
    if (this.stream.isTTY) {
      const now = Date.now();
      if (!final && now - this.lastDrawAt < REDRAW_MS) return;
      this.lastDrawAt = now;
      this.stream.write(`\r${line}${final ? "\n" : ""}`);
      return;
    }
    const decile = Math.floor(fraction * 10);
    if (!final && decile === this.lastDecile) return;
    if (final && this.lastDecile === 10) return;
    this.lastDecile = decile;
    this.stream.write(`${line}\n`);
  }
}
