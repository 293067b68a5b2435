import pkg from "../../package.json" with { type: "json" };

/** Replaced at compile time by build/build.ts (`--define`); absent when running from source. */
declare const HARVESTD_BUILD_TIME: string | undefined;

export interface VersionInfo {
  readonly version: string;
  readonly bun: string;
  readonly buildTime: string;
}

export function versionInfo(): VersionInfo {
  return {
    version: pkg.version,
    bun: Bun.version,
    buildTime: typeof HARVESTD_BUILD_TIME === "string" ? HARVESTD_BUILD_TIME : "from source",
  };
}
