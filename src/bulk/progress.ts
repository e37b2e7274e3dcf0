/**
 * One line on stderr redrawn in place: done/total, a bar, rate and the time left at that rate.
 * Without a terminal (a pipe, a CI log) it prints a line every `logEvery` items instead, so the
 * log shows progress without thousands of carriage returns.
 */
export class ProgressBar {
  private readonly started = Date.now();
  private done = 0;
  private lastLine = 0;

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly out: NodeJS.WriteStream = process.stderr,
    private readonly logEvery = 25,
  ) {}

  tick(count = 1): void {
    this.done += count;
    if (this.out.isTTY) this.out.write(`\r${this.line()}`);
    else if (this.done === this.total || this.done - this.lastLine >= this.logEvery) {
      this.lastLine = this.done;
      this.out.write(`${this.line()}\n`);
    }
  }

  finish(): void {
    if (this.out.isTTY) this.out.write('\n');
  }

  line(): string {
    const width = 30;
    const fraction = this.total === 0 ? 1 : this.done / this.total;
    const filled = Math.round(fraction * width);
    const seconds = (Date.now() - this.started) / 1000;
    const rate = seconds > 0 ? this.done / seconds : 0;
    const eta = rate > 0 ? (this.total - this.done) / rate : Number.NaN;
    return `${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${this.done}/${this.total} ${rate.toFixed(1)}/s ETA ${formatDuration(eta)}`;
  }
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--:--';
  const whole = Math.round(seconds);
  const h = Math.floor(whole / 3600);
  const m = Math.floor((whole % 3600) / 60);
  const s = whole % 60;
  const mm = String(m).padStart(2, '0');
  const ss = String(s).padStart(2, '0');
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}
