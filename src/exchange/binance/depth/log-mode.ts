/**
 * Which book stream a raw log was recorded from, told by its lines: replay must treat the book lines
 * as the live run did (diffs into a full book, or depth5 snapshots straight to the engine), whatever
 * the replaying configuration says.
 */
import type { DepthMode } from "../streams.ts";

/** The mode a raw-log line shows, or null when it shows none (trades, control lines). */
export function depthModeOfLine(line: string): DepthMode | null {
  if (line.includes('@depth@100ms"') || line.includes('"event":"depth_snapshot')) return "full";
  if (line.includes('@depth5@100ms"')) return "depth5";
  return null;
}
