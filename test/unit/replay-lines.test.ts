/**
 * Replay's own line reader (replay-files.ts openTextBlocks + LineCursor): the lines of plain, gzip and
 * zstd raw logs exactly as a plain split gives them, across block boundaries (a multi-byte character
 * cut by the 1 MiB read, a line longer than a block), with CRLF endings, U+2028/U+2029 inside JSON
 * strings (not line ends), empty lines and a last line without its newline (a crash mid-write).
 */
import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync, zstdCompressSync } from "node:zlib";
import { LineCursor, openLines, openTextBlocks } from "../../src/pipeline/replay-files.ts";
import { tempDir } from "../helpers/binary.ts";

/** What a reader must give: split at "\n", a "\r" before it dropped, no line after a final "\n". */
function expected(text: string): string[] {
  const lines = text.split("\n").map((l) => (l.endsWith("\r") ? l.slice(0, -1) : l));
  if (text.endsWith("\n")) lines.pop();
  return lines;
}

async function readAll(path: string): Promise<string[]> {
  const out: string[] = [];
  for await (const line of openLines(path)) out.push(line);
  return out;
}

function sample(): string {
  const parts: string[] = [];
  // ≈ 3 MiB of lines of varying length, some with 2-, 3- and 4-byte characters, so that block cuts
  // land everywhere, including inside a character.
  for (let i = 0; parts.length < 40_000; i++) {
    const pad = "x".repeat((i * 37) % 101);
    parts.push(`{"i":${i},"s":"${pad}${i % 7 === 0 ? "é€😀" : ""}${i % 13 === 0 ? "\u2028\u2029" : ""}"}${i % 11 === 0 ? "\r\n" : "\n"}`);
    if (i % 997 === 0) parts.push("\n");
  }
  // A line longer than a whole block, then a last line cut short.
  parts.push(`{"long":"${"€".repeat(700_000)}"}\n`, `{"ts_recv":1,"str`);
  return parts.join("");
}

describe("replay line reader", () => {
  const dir = tempDir("replay-lines");
  const text = sample();
  const want = expected(text);

  test("plain file: the lines of a plain split, across block boundaries", async () => {
    const path = join(dir, "raw-00.ndjson");
    writeFileSync(path, text);
    expect(Buffer.byteLength(text)).toBeGreaterThan(3 * 2 ** 20);
    const got = await readAll(path);
    expect(got.length).toBe(want.length);
    expect(got).toEqual(want);
  });

  test("gzip and zstd files give the same lines", async () => {
    const gz = join(dir, "raw-01.ndjson.gz");
    const zst = join(dir, "raw-02.ndjson.zst");
    writeFileSync(gz, gzipSync(text));
    writeFileSync(zst, zstdCompressSync(text));
    expect(await readAll(gz)).toEqual(want);
    expect(await readAll(zst)).toEqual(want);
  });

  test("blocks end at a newline except the last, which holds the cut line", async () => {
    const path = join(dir, "raw-03.ndjson");
    writeFileSync(path, text);
    const blocks: string[] = [];
    for await (const b of openTextBlocks(path)) blocks.push(b);
    expect(blocks.length).toBeGreaterThan(2);
    for (const b of blocks.slice(0, -1)) expect(b.endsWith("\n")).toBe(true);
    expect(blocks.at(-1)).toBe(`{"ts_recv":1,"str`);
    expect(blocks.join("")).toBe(text);
  });

  test("an empty file has no lines; a file of one newline has one empty line", async () => {
    const empty = join(dir, "raw-04.ndjson");
    const nl = join(dir, "raw-05.ndjson");
    writeFileSync(empty, "");
    writeFileSync(nl, "\n");
    expect(await readAll(empty)).toEqual([]);
    expect(await readAll(nl)).toEqual([""]);
    const c = new LineCursor();
    c.reset("a\r\n\r\nb");
    expect([c.next(), c.next(), c.next(), c.next()]).toEqual(["a", "", "b", null]);
  });
});
