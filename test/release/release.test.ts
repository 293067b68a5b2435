/**
 * Issue "Release binaries": `npm run release` builds all six binaries and SHA256SUMS; each binary is
 * the right kind of executable for its platform (ELF machine, PE machine, Mach-O magic and CPU with
 * an ad-hoc signature whose every page hash matches), embeds its target, the version and the
 * commit and every Worker entry point; the x64 ones answer `version` here. The commit falls back
 * to "unknown" without git.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ENTRY_POINTS } from "../../build/build.ts";
import { RELEASE_TARGETS, releaseFileName } from "../../build/targets.ts";
import { REPO } from "../helpers/binary.ts";
import { CPU_TYPE, CS_HASHTYPE_SHA256, MH_EXECUTE, MH_MAGIC_64, readMachO } from "./macho.ts";
import { ensureRelease, expectVersion, native, RELEASE_DIR, type ReleaseRun } from "./support.ts";

const NAMES = ["harvestd-linux-x64", "harvestd-linux-x64-baseline", "harvestd-linux-arm64", "harvestd-darwin-arm64", "harvestd-darwin-x64", "harvestd-windows-x64.exe"];
const ELF_MACHINE = { x64: 62, arm64: 183 } as const;

let release: ReleaseRun;
const bytes = new Map<string, Uint8Array>();

beforeAll(async () => {
  release = await ensureRelease();
  console.log(`npm run release: ${release.seconds.toFixed(1)} s`);
  for (const n of NAMES) bytes.set(n, new Uint8Array(readFileSync(join(RELEASE_DIR, n))));
}, 300_000);

const sha256 = (b: Uint8Array) => new Bun.CryptoHasher("sha256").update(b).digest("hex");

describe("npm run release", () => {
  test("builds the six binaries, and the targets list names exactly them", () => {
    expect(RELEASE_TARGETS.map(releaseFileName)).toEqual(NAMES);
    const present = readdirSync(RELEASE_DIR).filter((n) => n.startsWith("harvestd-")).sort();
    expect(present).toEqual([...NAMES].sort());
    for (const n of NAMES) expect(release.stdout).toContain(`built ${join(RELEASE_DIR, n)} `);
  });

  test("SHA256SUMS lists every binary with its SHA-256, in the format `sha256sum -c` checks", () => {
    const lines = readFileSync(join(RELEASE_DIR, "SHA256SUMS"), "utf8").trimEnd().split("\n");
    expect(lines.map((l) => l.slice(66))).toEqual(NAMES);
    for (const l of lines) {
      const [hash, name] = l.split("  ");
      expect(hash).toBe(sha256(bytes.get(name!)!));
    }
    const tool = Bun.which("sha256sum");
    if (tool !== null) {
      const r = Bun.spawnSync([tool, "-c", "SHA256SUMS"], { cwd: RELEASE_DIR, stdout: "pipe" });
      expect(r.exitCode).toBe(0);
      expect(r.stdout.toString().trim().split("\n")).toEqual(NAMES.map((n) => `${n}: OK`));
    }
  }, 60_000);

  test("every binary embeds its target and the commit beside the version, and every Worker entry point", () => {
    const commit = release.commit.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    for (const t of RELEASE_TARGETS) {
      const text = Buffer.from(bytes.get(releaseFileName(t))!).toString("latin1");
      expect({ target: t.name, stamped: new RegExp(`"${t.name}"[^"]{0,40}"${commit}"`).test(text) }).toEqual({ target: t.name, stamped: true });
      for (const entry of ENTRY_POINTS.slice(1)) {
        const embedded = `root/${entry.replace(/^src\//, "").replace(/\.ts$/, ".js")}`;
        expect({ target: t.name, embedded, found: text.includes(embedded) }).toEqual({ target: t.name, embedded, found: true });
      }
    }
  }, 60_000);
});

describe("executable formats", () => {
  test("linux: 64-bit little-endian ELF executables for x86-64 and AArch64", () => {
    for (const [name, machine] of [
      ["harvestd-linux-x64", ELF_MACHINE.x64],
      ["harvestd-linux-x64-baseline", ELF_MACHINE.x64],
      ["harvestd-linux-arm64", ELF_MACHINE.arm64],
    ] as const) {
      const b = bytes.get(name)!;
      const v = new DataView(b.buffer, b.byteOffset);
      expect({ name, magic: Buffer.from(b.subarray(0, 4)).toString("latin1"), class: b[4], data: b[5], machine: v.getUint16(18, true) }).toEqual({ name, magic: "\x7fELF", class: 2, data: 1, machine });
    }
  });

  test("windows: a PE32+ console program for x86-64", () => {
    const b = bytes.get("harvestd-windows-x64.exe")!;
    const v = new DataView(b.buffer, b.byteOffset);
    expect(Buffer.from(b.subarray(0, 2)).toString("latin1")).toBe("MZ");
    const pe = v.getUint32(0x3c, true);
    expect(v.getUint32(pe, true)).toBe(0x00004550); // "PE\0\0"
    expect(v.getUint16(pe + 4, true)).toBe(0x8664); // IMAGE_FILE_MACHINE_AMD64
    expect(v.getUint16(pe + 24, true)).toBe(0x20b); // PE32+
    expect(v.getUint16(pe + 24 + 68, true)).toBe(3); // IMAGE_SUBSYSTEM_WINDOWS_CUI
  });

  test.each([
    ["harvestd-darwin-arm64", CPU_TYPE.arm64],
    ["harvestd-darwin-x64", CPU_TYPE.x64],
  ] as const)("%s: Mach-O executable for its CPU, ad-hoc signed over every byte before the signature, every page hash matching", (name, cpu) => {
    const m = readMachO(bytes.get(name)!);
    expect({ magic: m.magic, cpuType: m.cpuType, fileType: m.fileType }).toEqual({ magic: MH_MAGIC_64, cpuType: cpu, fileType: MH_EXECUTE });
    const sig = m.signature!;
    expect(sig).not.toBeNull();
    expect(sig.hashType).toBe(CS_HASHTYPE_SHA256);
    expect(sig.codeLimit).toBe(sig.signatureOffset);
    expect(sig.codeSlots).toBe(Math.ceil(sig.codeLimit / sig.pageSize));
    expect(sig.badPages).toEqual([]);
  }, 30_000);
});

describe("version and commit", () => {
  test.each(["linux-x64", "linux-x64-baseline"])("%s: `version` names the target, the version and the commit", async (target) => {
    await expectVersion({ ...native, target }, release.commit);
  });

  test("the release names a commit of this repository (`-dirty`: with uncommitted changes)", () => {
    const m = /^([0-9a-f]{12})(-dirty)?$/.exec(release.commit);
    expect(m).not.toBeNull();
    expect(Bun.spawnSync(["git", "cat-file", "-e", `${m![1]}^{commit}`], { cwd: REPO }).exitCode).toBe(0);
  });

  test("the commit is git's; HARVESTD_COMMIT overrides it; without git it is \"unknown\"", () => {
    const commitWith = (env: Record<string, string>) =>
      Bun.spawnSync([process.execPath, "-e", 'import { gitCommit } from "./build/build.ts"; process.stdout.write(gitCommit())'], { cwd: REPO, env, stdout: "pipe" }).stdout.toString();
    expect(commitWith({ PATH: process.env.PATH ?? "" })).toMatch(/^[0-9a-f]{12}(-dirty)?$/);
    expect(commitWith({ PATH: process.env.PATH ?? "", HARVESTD_COMMIT: "v0.1.0-src" })).toBe("v0.1.0-src");
    expect(commitWith({ PATH: "/nonexistent" })).toBe("unknown");
  });
});
