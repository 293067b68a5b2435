/**
 * The repository explains itself: no file under src/, docs/ or README.md sends the reader to a
 * specification that is not in the repository, and every section a source comment cites as
 * `docs/X.md §N` exists as a heading of docs/X.md.
 *
 * Heading format the check relies on (docs/indicators.md, docs/binance.md): `## 5. OFI …` for a
 * section and `### 5.4 OFI row` for a subsection; `§5.4` names the heading numbered 5.4.
 * A source file whose bare `§N` citations all belong to one document names it as `docs/X.md §…`
 * at least once; then those bare numbers are checked against that document too.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "..", "..");

function filesUnder(dir: string, ext: RegExp): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? filesUnder(p, ext) : ext.test(name) ? [p] : [];
  });
}

const SOURCES = filesUnder(join(ROOT, "src"), /\.(ts|js|mjs|css|html|d\.ts)$/);
const DOCS = filesUnder(join(ROOT, "docs"), /\.md$/);
const README = join(ROOT, "README.md");

/** A mention of the outside specification, or null. Inside docs/ a sibling `indicators.md` is fine. */
export function outsideReference(text: string, inDocs: boolean): string | null {
  for (const bad of ["shared/spec", "product.md", "binance-protocol.md"]) if (text.includes(bad)) return bad;
  if (inDocs) return null;
  const m = /(^|[^/\w-])indicators\.md/m.exec(text);
  if (m === null) return null;
  // `docs/indicators.md` and `indicators-custom.md` are excluded by the character before the name.
  return `indicators.md not preceded by docs/ ("${text.slice(Math.max(0, m.index - 20), m.index + 25).trim()}")`;
}

/** Section numbers a document has as headings: `## 5. Title` → "5", `### 5.4 Title` → "5.4". */
export function headingNumbers(markdown: string): Set<string> {
  const out = new Set<string>();
  for (const m of markdown.matchAll(/^#{2,4} (\d+(?:\.\d+)*)\.?\s/gm)) out.add(m[1]!);
  return out;
}

/** Every `§N` of a citation run right after `docs/X.md`: "docs/indicators.md §5.1–§5.5, §13 D17" → 5.1, 5.5, 13. */
export function citedSections(text: string): { doc: string; section: string }[] {
  const out: { doc: string; section: string }[] = [];
  const run = /docs\/([\w-]+\.md)((?:(?:\s*(?:,|and|–|-|\/)?\s*)§\s?\d+(?:\.\d+)*(?:\s+D\d+(?:\/D\d+)*)?)+)/g;
  for (const m of text.matchAll(run)) {
    for (const s of m[2]!.matchAll(/§\s?(\d+(?:\.\d+)*)/g)) out.push({ doc: m[1]!, section: s[1]! });
  }
  return out;
}

/** Bare `§N` numbers of a text (those not right after a document name are included too). */
function allSections(text: string): string[] {
  return [...text.matchAll(/§\s?(\d+(?:\.\d+)*)/g)].map((m) => m[1]!);
}

const headingsCache = new Map<string, Set<string> | null>();
function headingsOf(doc: string): Set<string> | null {
  if (!headingsCache.has(doc)) {
    const p = join(ROOT, "docs", doc);
    headingsCache.set(doc, existsSync(p) ? headingNumbers(readFileSync(p, "utf8")) : null);
  }
  return headingsCache.get(doc)!;
}

/** Problems of one source file: outside references, cited sections that do not exist. */
export function problemsOf(name: string, text: string, inDocs: boolean): string[] {
  const problems: string[] = [];
  const outside = outsideReference(text, inDocs);
  if (outside !== null) problems.push(`${name}: cites ${outside}`);
  if (inDocs) return problems;
  const cited = citedSections(text);
  for (const { doc, section } of cited) {
    const headings = headingsOf(doc);
    if (headings === null) problems.push(`${name}: cites docs/${doc}, which does not exist`);
    else if (!headings.has(section)) problems.push(`${name}: cites docs/${doc} §${section}, which has no such heading`);
  }
  const bare = allSections(text);
  if (bare.length > 0) {
    const docs = new Set(cited.map((c) => c.doc));
    if (docs.size === 0) problems.push(`${name}: cites § sections without naming the docs/ file they belong to`);
    else if (docs.size === 1) {
      const doc = [...docs][0]!;
      const headings = headingsOf(doc);
      const named = new Set(cited.map((c) => c.section));
      for (const s of new Set(bare)) if (headings !== null && !named.has(s) && !headings.has(s)) problems.push(`${name}: §${s} (of docs/${doc}) has no such heading`);
    }
  }
  return problems;
}

describe("the repository is self-contained", () => {
  test("the check itself: outside references and section numbers are recognised", () => {
    expect(outsideReference("see ../shared/spec/indicators.md §5", false)).toBe("shared/spec");
    expect(outsideReference("(indicators.md §5.4)", false)).not.toBeNull();
    expect(outsideReference("(docs/indicators.md §5.4) and docs/indicators-custom.md", false)).toBeNull();
    expect(outsideReference("[OFI](indicators.md#5-ofi)", true)).toBeNull();
    expect(outsideReference("product.md §7", true)).toBe("product.md");
    expect(headingNumbers("## 5. OFI\n### 5.4 OFI row\n#### not numbered\n")).toEqual(new Set(["5", "5.4"]));
    expect(citedSections("docs/indicators.md §5.1–§5.5, §13 D17/D18, §15.11 and docs/binance.md §0")).toEqual([
      { doc: "indicators.md", section: "5.1" },
      { doc: "indicators.md", section: "5.5" },
      { doc: "indicators.md", section: "13" },
      { doc: "indicators.md", section: "15.11" },
      { doc: "binance.md", section: "0" },
    ]);
    // Against the real documents: a section that exists, one that does not, a bare § without its document.
    expect(problemsOf("a.ts", "(docs/indicators.md §5.4, §15.13) and docs/binance.md §12", false)).toEqual([]);
    expect(problemsOf("a.ts", "(docs/indicators.md §5.9)", false)).toEqual(["a.ts: cites docs/indicators.md §5.9, which has no such heading"]);
    expect(problemsOf("a.ts", "(docs/indicators.md §5.4) and §16", false)).toEqual(["a.ts: §16 (of docs/indicators.md) has no such heading"]);
    expect(problemsOf("a.ts", "rows of §3", false)).toEqual(["a.ts: cites § sections without naming the docs/ file they belong to"]);
    expect(problemsOf("a.ts", "docs/nothing.md §1", false)).toEqual(["a.ts: cites docs/nothing.md, which does not exist"]);
  });

  test("src/ cites only docs/ files, and only sections they have", () => {
    const problems = SOURCES.flatMap((f) => problemsOf(relative(ROOT, f), readFileSync(f, "utf8"), false));
    expect(problems).toEqual([]);
  });

  test("docs/ and README.md do not send the reader to a specification outside the repository", () => {
    const problems = [
      ...DOCS.flatMap((f) => problemsOf(relative(ROOT, f), readFileSync(f, "utf8"), true)),
      ...[outsideReference(readFileSync(README, "utf8"), false)].filter((p) => p !== null).map((p) => `README.md: cites ${p}`),
    ];
    expect(problems).toEqual([]);
  });

  test("no test sits at the root of test/", () => {
    const loose = readdirSync(join(ROOT, "test")).filter((n) => /\.(ts|js)$/.test(n));
    expect(loose).toEqual([]);
  });
});
