/**
 * Where in a custom indicator's own module an error was thrown: the first frame of its stack in that
 * file, as `name.ts:line:column`, so a log line points the author at the line (frames of harvestd's
 * own code and of other files are skipped). Empty when the stack does not pass through the file.
 */
import { basename } from "node:path";

const POSITION = /^:(\d+):(\d+)/;

export function whereThrown(e: unknown, file: string): string {
  const stack = e instanceof Error && typeof e.stack === "string" ? e.stack : "";
  for (const line of stack.split("\n")) {
    const i = line.indexOf(file);
    if (i < 0) continue;
    const m = POSITION.exec(line.slice(i + file.length));
    if (m !== null) return `${basename(file)}:${m[1]}:${m[2]}`;
  }
  return "";
}

/** `message (name.ts:line:column)`, or the message alone when the place is unknown. */
export function withPlace(message: string, e: unknown, file: string): string {
  const at = whereThrown(e, file);
  return at === "" ? message : `${message} (${at})`;
}
