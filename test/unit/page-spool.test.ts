/**
 * The writer's page spool (src/sinks/parquet/page-spool.ts): pages appended in any sizes come back
 * byte for byte in any order, from the write buffer or from disk; a segment file is deleted once
 * its pages are freed and a newer one is written; freed refs are reused; close deletes everything;
 * a spool that cannot create its folder keeps pages in memory, says so once, and loses nothing; a
 * segment cut short on disk is an error, not a short page.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readlinkSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PageSpool } from "../../src/sinks/parquet/page-spool.ts";
import { removeTree, removeTreeAsync, removeTreeByHand } from "../../src/sinks/storage/staging.ts";
import { tempDir } from "../helpers/binary.ts";
import { prng } from "../helpers/prng.ts";

const LIMITS = { segmentBytes: 64 * 1024, bufferBytes: 4096 };

/** A page of `n` bytes whose content says which page it is. */
function page(seed: number, n: number): [Uint8Array, Uint8Array] {
  const rand = prng(seed);
  const bytes = Uint8Array.from({ length: n }, () => Math.floor(rand() * 256));
  const cut = Math.min(n, Math.floor(rand() * 24));
  return [bytes.slice(0, cut), bytes.slice(cut)];
}
const joined = ([h, b]: [Uint8Array, Uint8Array]) => Buffer.concat([h, b]);
const makeDir = (dir: string) => () => {
  mkdirSync(dir);
  return dir;
};

function readBack(spool: PageSpool, ref: number): Buffer {
  const into = new Uint8Array(spool.length(ref) + 7);
  spool.read(ref, into, 7);
  return Buffer.from(into.subarray(7));
}

describe("page spool", () => {
  test("pages of every size come back byte for byte, from the buffer and from disk, in any order", () => {
    const root = tempDir("spool");
    const errors: string[] = [];
    const spool = new PageSpool(makeDir(join(root, "s")), (m) => errors.push(m), LIMITS);
    const rand = prng(7);
    const want = new Map<number, Buffer>();
    for (let i = 0; i < 600; i++) {
      // Mostly small pages, some larger than the write buffer.
      const n = i % 50 === 0 ? 10_000 + Math.floor(rand() * 5000) : Math.floor(rand() * 900);
      const p = page(i, n);
      const ref = spool.append(p[0], p[1]);
      want.set(ref, joined(p));
      // Some read at once, while still in the write buffer.
      if (i % 17 === 0) expect(readBack(spool, ref).equals(want.get(ref)!)).toBe(true);
    }
    expect(spool.segmentPaths.length).toBeGreaterThan(2);
    const refs = [...want.keys()].sort(() => rand() - 0.5);
    for (const ref of refs) expect(readBack(spool, ref).equals(want.get(ref)!)).toBe(true);
    expect(errors).toEqual([]);
    spool.close();
    expect(existsSync(join(root, "s"))).toBe(false);
  });

  test("a segment goes once its pages are freed and a newer one is written; refs are reused", () => {
    const root = tempDir("spool");
    const dir = join(root, "s");
    const spool = new PageSpool(makeDir(dir), () => {}, LIMITS);
    const first: number[] = [];
    // Two segments' worth: the first segment is full and closed for appends.
    for (let i = 0; i < 200; i++) first.push(spool.append(...page(i, 500)));
    const files = () => readdirSync(dir).sort();
    expect(files().length).toBe(2);
    const oldest = spool.segmentPaths[0]!;
    // Keep one page of the first segment: it stays.
    for (const ref of first.slice(0, 130)) spool.free(ref);
    expect(existsSync(oldest)).toBe(true);
    const kept = first.slice(130);
    for (const ref of kept) expect(readBack(spool, ref).equals(joined(page(first.indexOf(ref), 500)))).toBe(true);
    for (const ref of kept) spool.free(ref);
    expect(existsSync(oldest)).toBe(false);
    expect(spool.pages).toBe(0);
    // Freed refs are taken again before new ones.
    const again = spool.append(...page(999, 10));
    expect(first).toContain(again);
    spool.close();
  });

  test("a spool that cannot make its folder keeps pages in memory, reports once, loses nothing", () => {
    const errors: { message: string; path: string }[] = [];
    const spool = new PageSpool(
      () => {
        throw new Error("EROFS: read-only file system, mkdir '/nowhere'");
      },
      (message, path) => errors.push({ message, path }),
      LIMITS,
    );
    const refs = Array.from({ length: 50 }, (_, i) => spool.append(...page(i, 300 + i)));
    refs.forEach((ref, i) => expect(readBack(spool, ref).equals(joined(page(i, 300 + i)))).toBe(true));
    expect(errors.length).toBe(1);
    expect(errors[0]!.message).toContain("page spool off, pages kept in memory");
    expect(errors[0]!.message).toContain("EROFS");
    for (const ref of refs) spool.free(ref);
    expect(spool.pages).toBe(0);
    spool.close();
  });
  test("a segment cut short on disk is an error naming the file and the bytes missing, never a short page", () => {
    const root = tempDir("spool-cut");
    const spool = new PageSpool(makeDir(join(root, "s")), () => {}, LIMITS);
    const refs = [0, 1, 2, 3].map((i) => spool.append(...page(i, 3000)));
    // A fifth page pushes the first four out of the write buffer onto disk.
    spool.append(...page(9, 3000));
    const [segment] = spool.segmentPaths;
    truncateSync(segment!, 4000);
    expect(readBack(spool, refs[0]!)).toEqual(joined(page(0, 3000)));
    expect(() => readBack(spool, refs[1]!)).toThrow(`page spool ${segment}: 2000 bytes missing at 4000`);
    spool.close();
  });
});

/**
 * Bun's Windows runtime under Wine fails every recursive rm of a folder with EFAULT (staging.ts):
 * removeTree then removes files and folders one by one. Here the EFAULT is simulated.
 */
describe("removeTree", () => {
  const tree = (): string => {
    const root = join(tempDir("remove-tree"), "staging");
    mkdirSync(join(root, "pages-a", "deeper"), { recursive: true });
    mkdirSync(join(root, "pages-empty"));
    writeFileSync(join(root, "pages-a", "pages-0"), "x");
    writeFileSync(join(root, "pages-a", "deeper", "f"), "y");
    writeFileSync(join(root, "top"), "z");
    // A link to a folder outside: the link goes, what it points to stays.
    const outside = tempDir("remove-tree-outside");
    writeFileSync(join(outside, "keep"), "k");
    symlinkSync(outside, join(root, "link"));
    return root;
  };
  const efault = () => {
    throw Object.assign(new Error("EFAULT: bad address in system call argument, rm"), { code: "EFAULT" });
  };

  test("on EFAULT the tree is removed by hand; a link inside is removed, not followed", () => {
    const root = tree();
    const outside = readlinkSync(join(root, "link"));
    removeTree(root, efault);
    expect(existsSync(root)).toBe(false);
    expect(readdirSync(outside)).toEqual(["keep"]);
  });

  test("other errors are thrown; a missing path is no error", () => {
    const root = tree();
    expect(() =>
      removeTree(root, () => {
        throw Object.assign(new Error("EACCES"), { code: "EACCES" });
      }),
    ).toThrow("EACCES");
    expect(existsSync(root)).toBe(true);
    removeTree(root);
    expect(existsSync(root)).toBe(false);
    removeTree(root);
    removeTreeByHand(root);
  });

  test("the async one removes a tree", async () => {
    const root = tree();
    await removeTreeAsync(root);
    expect(existsSync(root)).toBe(false);
    await removeTreeAsync(root);
  });
});
