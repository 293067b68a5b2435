/**
 * The names in a folder, or none when it cannot be read (missing, not a folder, no permission):
 * for scans of the Hive trees and raw-log folders, where an unreadable folder simply has nothing
 * to offer and the caller goes on with the others.
 */
import { readdirSync } from "node:fs";

export function listNames(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
