import pkg from "../../package.json" with { type: "json" };
import { hostTarget } from "./platform.ts";

/** Replaced at compile time by build/build.ts (`--define`); absent when running from source. */
declare const HARVESTD_BUILD_TIME: string | undefined;
declare const HARVESTD_TARGET: string | undefined;
declare const HARVESTD_COMMIT: string | undefined;

export interface VersionInfo {
  readonly version: string;
  /** Release target (`linux-arm64`, `windows-x64`, …; docs/release.md). */
  readonly target: string;
  /** Git commit built (`-dirty`: with uncommitted changes), or "unknown". */
  readonly commit: string;
  readonly bun: string;
  readonly buildTime: string;
}

export function versionInfo(): VersionInfo {
  return {
    version: pkg.version,
    target: typeof HARVESTD_TARGET === "string" ? HARVESTD_TARGET : hostTarget(),
    commit: typeof HARVESTD_COMMIT === "string" ? HARVESTD_COMMIT : "unknown",
    bun: Bun.version,
    buildTime: typeof HARVESTD_BUILD_TIME === "string" ? HARVESTD_BUILD_TIME : "from source",
  };
}

/** `harvestd version`: one line naming the version, the target and the commit. */
export function versionLine(v: VersionInfo = versionInfo()): string {
  return `harvestd ${v.version} ${v.target} (commit ${v.commit}, bun ${v.bun}, built ${v.buildTime})`;
}
