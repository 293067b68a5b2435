/**
 * `harvestd replay` given nothing it can replay (the compiled binary): no log files at all, or only
 * files without a stream line. Either way it says so, names what it looked at, writes nothing and
 * exits 2 — a script that rebuilds Parquet from logs must not take "nothing replayed" for success.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { REPO, runBinary, tempDir } from "../helpers/binary.ts";

describe("replay with nothing to replay: exit 2", () => {
  test("a folder without log files", async () => {
    const input = join(tempDir("replay-none"), "empty");
    mkdirSync(input);
    const out = join(tempDir("replay-none-out"), "out");
    const r = await runBinary(["replay", input, "--out", out, "--config", join(REPO, "config.toml")]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`harvestd: replay: no .ndjson, .ndjson.gz or .ndjson.zst files under ${input}`);
    expect(existsSync(out)).toBe(false);
  }, 30_000);

  test("log files none of which has a stream line: each named as skipped, then nothing to replay", async () => {
    const input = tempDir("replay-no-streams");
    // Outside a symbol= folder a file's symbol comes from its first stream line; these have none.
    writeFileSync(join(input, "notes.ndjson"), '{"note":"not a frame"}\n');
    writeFileSync(join(input, "empty.ndjson"), "");
    const out = join(tempDir("replay-no-streams-out"), "out");
    const r = await runBinary(["replay", input, "--out", out, "--config", join(REPO, "config.toml")]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`${join(input, "notes.ndjson")}: no stream lines, skipped`);
    expect(r.stderr).toContain(`${join(input, "empty.ndjson")}: no stream lines, skipped`);
    expect(r.stderr).toContain(`harvestd: replay: none of the 2 files under ${input} has stream lines: nothing to replay`);
    expect(r.stdout).not.toContain("replayed");
    expect(existsSync(out)).toBe(false);
  }, 30_000);
});
