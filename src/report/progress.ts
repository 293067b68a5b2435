/**
 * Progress of a long report on stderr: files and rows read, at most one line per interval, plus
 * warnings (unreadable files) and a closing summary. Lines, not carriage returns, so a log file or a
 * pipe shows the same thing a terminal does. Files count toward the total listed at the start, each
 * once: the caller reports a listed file when it is first dealt with, read or skipped.
 */
export class Progress {
  private files = 0;
  private totalFiles = 0;
  private rows = 0;
  private skipped = 0;
  private symbolsDone = 0;
  private totalSymbols = 0;
  private currentSymbol = "";
  private lastAt = Number.NEGATIVE_INFINITY;
  private startedAt = 0;

  constructor(
    private readonly write: (line: string) => void,
    private readonly intervalMs = 1000,
    private readonly now: () => number = () => performance.now(),
  ) {}

  start(totalFiles: number, totalSymbols: number): void {
    this.totalFiles = totalFiles;
    this.totalSymbols = totalSymbols;
    this.startedAt = this.now();
    this.write(`report: ${totalFiles} Parquet files for ${totalSymbols} symbol${totalSymbols === 1 ? "" : "s"}`);
  }

  /** `files` listed files of `symbol`'s `kind` dealt with, holding `rows` rows (skipped files: none). */
  file(symbol: string, kind: string, rows: number, files = 1): void {
    if (symbol !== this.currentSymbol) {
      if (this.currentSymbol !== "") this.symbolsDone++;
      this.currentSymbol = symbol;
    }
    this.files += files;
    this.rows += rows;
    const t = this.now();
    if (t - this.lastAt >= this.intervalMs) {
      this.lastAt = t;
      this.write(`report: ${this.files}/${this.totalFiles} files, ${this.rows.toLocaleString("en-US")} rows (${symbol} ${kind}, symbol ${this.symbolsDone + 1}/${this.totalSymbols})`);
    }
  }

  /** A symbol's evaluation finished (the slow part after its files are read). */
  symbolDone(symbol: string): void {
    const t = this.now();
    if (t - this.lastAt >= this.intervalMs) {
      this.lastAt = t;
      this.write(`report: ${symbol} evaluated (${this.files}/${this.totalFiles} files, ${this.rows.toLocaleString("en-US")} rows)`);
    }
  }

  /** A listed file that could not be read. The caller still counts it with file(): it was dealt with. */
  warn(message: string): void {
    this.skipped++;
    this.write(`report: skipped ${message}`);
  }

  done(): void {
    const s = ((this.now() - this.startedAt) / 1000).toFixed(1);
    const left = this.skipped > 0 ? ` (${this.skipped} unreadable, left out)` : "";
    this.write(`report: read ${this.files}/${this.totalFiles} files${left}, ${this.rows.toLocaleString("en-US")} rows in ${s} s`);
  }
}
