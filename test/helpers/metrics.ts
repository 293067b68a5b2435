// Reading a /metrics answer in tests: its samples, and `promtool check metrics` (Debian package
// `prometheus`; under CI=true its absence is a failure, since .ci/run installs it).

/** Samples of a Prometheus text exposition: "name{labels}" → value. */
export function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const i = line.lastIndexOf(" ");
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

export const PROMTOOL = Bun.which("promtool");
export const PROMTOOL_MISSING = PROMTOOL === null ? 'promtool not found (Debian package "prometheus"; .ci/run installs it)' : undefined;
if (PROMTOOL_MISSING !== undefined && process.env.CI === "true") throw new Error(PROMTOOL_MISSING);

/** `promtool check metrics` of `text`: its exit code and its lines (problems and lint warnings). */
export function promtoolCheck(text: string): { readonly exitCode: number; readonly lines: readonly string[] } {
  if (PROMTOOL === null) throw new Error(PROMTOOL_MISSING);
  const r = Bun.spawnSync([PROMTOOL, "check", "metrics"], { stdin: Buffer.from(text), stdout: "pipe", stderr: "pipe" });
  return { exitCode: r.exitCode, lines: `${r.stdout.toString()}${r.stderr.toString()}`.split("\n").filter((l) => l !== "") };
}
