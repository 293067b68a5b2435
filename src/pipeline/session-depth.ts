/**
 * The book mode of each part of a raw log, told by its lines (docs/depth.md, "Raw log and replay"):
 * one live process records one `feed.depth`, and a restart (a `session` line) may change it, so one
 * hour file can hold depth5 frames, then diffs and snapshots (or the reverse). Replay and crash
 * recovery give each session a fresh processor of the mode its own book lines show, as the live
 * process built it at its start: a session's lines are held until one of them tells the mode (its
 * first diff, depth5 frame or snapshot line; trades and control lines tell nothing), then applied in
 * order to a processor of that mode.
 */
import type { Config } from "../config/schema.ts";
import { depthModeOfLine } from "./venue.ts";

export type DepthMode = Config["feed"]["depth"];

/** Lines held at most while a session's mode is unknown (a run without order book lines); then `fallback`. */
const MAX_HELD = 50_000;

/** What a stream name looks like in a book line of each mode (a data line or a `depth_snapshot` line). */
const MARKER: Readonly<Record<DepthMode, string>> = { depth5: '@depth5@100ms"', full: '@depth@100ms"' };

export class SessionDepthMode {
  /** The current session's mode; null while its lines are held (or before any). */
  mode: DepthMode | null = null;
  /** The mode of the session before, null before the first: a session without book lines keeps it. */
  before: DepthMode | null = null;
  private held: string[] = [];

  constructor(readonly configured: DepthMode) {}

  /** Whether lines wait for the session's mode. */
  get holding(): boolean {
    return this.held.length > 0;
  }

  /** A session starts (a `session` line, or a book line of the other mode): its lines tell its mode. Lines held must be released first. */
  newSession(): void {
    if (this.mode !== null) this.before = this.mode;
    this.mode = null;
  }

  /**
   * A line to apply while the mode is unknown: held. Returns the mode once this line tells it (or
   * too many are held), and then takeHeld() gives the lines to apply, this one last.
   */
  hold(line: string): DepthMode | null {
    this.held.push(line);
    const m = depthModeOfLine(line) ?? (this.held.length >= MAX_HELD ? (this.before ?? this.configured) : null);
    if (m !== null) this.mode = m;
    return m;
  }

  /** The end of the session or of the input while lines are held: they go with the mode of the session before (or the configured one). */
  release(): DepthMode | null {
    if (this.mode !== null || this.held.length === 0) return null;
    this.mode = this.before ?? this.configured;
    return this.mode;
  }

  /** The lines held, in order (emptied). */
  takeHeld(): string[] {
    const h = this.held;
    this.held = [];
    return h;
  }

  /**
   * A book line (diff, depth5 frame or snapshot) once the mode is known: the other mode it shows, or
   * null when it matches. Cheap on the usual path: the current mode's stream name is near the start.
   */
  otherMode(line: string): DepthMode | null {
    if (this.mode === null || line.includes(MARKER[this.mode])) return null;
    const m = depthModeOfLine(line);
    return m !== null && m !== this.mode ? m : null;
  }

  /**
   * What to tell of the mode just decided (`where`: the session line, or the line that showed it):
   * a mode other than the session before's (where the log switches), or, for the first session, other
   * than the configuration's; null when there is nothing to tell.
   */
  note(symbol: string, where: string, restarted: boolean): string | null {
    const mode = this.mode!;
    const cfgNote = mode !== this.configured ? ` (the configuration says "${this.configured}")` : "";
    if (this.before === null) return cfgNote === "" ? null : `${where}: ${symbol} was recorded with feed.depth = "${mode}": replayed that way${cfgNote}`;
    if (mode === this.before) return null;
    const how = restarted ? "the process restarted here" : "no session line here: a fresh processor all the same";
    return `${where}: ${symbol} was recorded with feed.depth = "${this.before}" before and with feed.depth = "${mode}" from here (${how}): both replayed that way, with a fresh ${mode === "full" ? "book from the snapshot lines that follow" : "processor"}${cfgNote}`;
  }
}
