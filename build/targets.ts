/**
 * The platforms harvestd is released for. Each names the Bun compile target and the npm package that
 * publishes Bun's runtime for it: `bun build --compile` appends the bundled program to that runtime,
 * so one machine builds every platform's binary from the npm registry alone.
 */

export interface ReleaseTarget {
  /** What users see: the file name suffix and the target in `harvestd version`. */
  readonly name: string;
  readonly os: "linux" | "darwin" | "windows";
  /** `bun build --target=`. */
  readonly bunTarget: string;
  /** npm package holding the runtime executable, at the same version as the Bun that compiles. */
  readonly runtimePackage: string;
  /** The runtime executable inside the package tarball. */
  readonly runtimePath: string;
  /** Extension of the released file. */
  readonly ext: "" | ".exe";
}

const target = (name: string, bunTarget: string, pkg: string, windows = false): ReleaseTarget => ({
  name,
  os: windows ? "windows" : name.startsWith("darwin") ? "darwin" : "linux",
  bunTarget,
  runtimePackage: `@oven/${pkg}`,
  runtimePath: windows ? "package/bin/bun.exe" : "package/bin/bun",
  ext: windows ? ".exe" : "",
});

export const RELEASE_TARGETS: readonly ReleaseTarget[] = [
  target("linux-x64", "bun-linux-x64", "bun-linux-x64"),
  // CPUs without AVX2 (older Xeons and cheap VPS hosts that hide it).
  target("linux-x64-baseline", "bun-linux-x64-baseline", "bun-linux-x64-baseline"),
  target("linux-arm64", "bun-linux-arm64", "bun-linux-aarch64"),
  target("darwin-arm64", "bun-darwin-arm64", "bun-darwin-aarch64"),
  target("darwin-x64", "bun-darwin-x64", "bun-darwin-x64"),
  target("windows-x64", "bun-windows-x64", "bun-windows-x64", true),
];

/** `harvestd-<name>[.exe]` */
export function releaseFileName(t: ReleaseTarget): string {
  return `harvestd-${t.name}${t.ext}`;
}
