/**
 * Ad-hoc code signature for a 64-bit Mach-O executable, written without a Mac (what `ld` writes for
 * every arm64 binary it links: "linker-signed", one CodeDirectory of SHA-256 page hashes, no
 * certificate).
 *
 * Why: macOS kills an executable whose signed pages do not match their hashes. Cross-compiling for
 * darwin-x64, Bun 1.4.5 keeps the runtime's original Developer ID signature although it has added
 * the program to the file, so pages past the old code limit are unsigned and others no longer match
 * (see docs/release.md for the figures). Both darwin binaries are re-signed here the same way; the
 * release test recomputes every page hash independently.
 *
 * Formats: Apple's <mach-o/loader.h> (little-endian header and load commands) and xnu's
 * code-signing blobs (big-endian): SuperBlob { magic, length, count, index[] } holding a
 * CodeDirectory version 0x20400 (execution segment fields, no scatter or team id).
 */
import { createHash } from "node:crypto";

const MH_MAGIC_64 = 0xfeedfacf;
const LC_SEGMENT_64 = 0x19;
const LC_CODE_SIGNATURE = 0x1d;
const CSMAGIC_EMBEDDED_SIGNATURE = 0xfade0cc0;
const CSMAGIC_CODEDIRECTORY = 0xfade0c02;
const CS_ADHOC = 0x2;
const CS_LINKER_SIGNED = 0x20000;
const CS_HASHTYPE_SHA256 = 2;
const CS_EXECSEG_MAIN_BINARY = 0x1;
const PAGE_SHIFT = 12;
const PAGE = 1 << PAGE_SHIFT;
const HASH_SIZE = 32;
/** Fixed part of a version 0x20400 CodeDirectory. */
const CD_HEADER = 88;

const alignUp = (n: number, a: number): number => Math.ceil(n / a) * a;

interface Layout {
  readonly sigCmd: number;
  readonly dataOff: number;
  readonly linkedit: number;
  readonly textFileSize: bigint;
}

function layout(buf: Uint8Array): Layout {
  const le = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (le.getUint32(0, true) !== MH_MAGIC_64) throw new Error("not a 64-bit Mach-O file");
  const ncmds = le.getUint32(16, true);
  let off = 32;
  let sigCmd = -1;
  let linkedit = -1;
  let textFileSize = -1n;
  for (let i = 0; i < ncmds; i++) {
    const cmd = le.getUint32(off, true);
    if (cmd === LC_CODE_SIGNATURE) sigCmd = off;
    if (cmd === LC_SEGMENT_64) {
      const name = Buffer.from(buf.subarray(off + 8, off + 24)).toString("latin1").replace(/\0+$/, "");
      if (name === "__LINKEDIT") linkedit = off;
      if (name === "__TEXT") textFileSize = le.getBigUint64(off + 48, true);
    }
    off += le.getUint32(off + 4, true);
  }
  if (sigCmd < 0 || linkedit < 0 || textFileSize < 0n) throw new Error("no LC_CODE_SIGNATURE, __LINKEDIT or __TEXT: cannot sign");
  return { sigCmd, dataOff: le.getUint32(sigCmd + 8, true), linkedit, textFileSize };
}

/** A copy of `input` whose code signature is a fresh ad-hoc one covering everything before it. */
export function adhocSign(input: Uint8Array, identifier: string): Uint8Array {
  const l = layout(input);
  const ident = Buffer.from(`${identifier}\0`, "utf8");
  const slots = Math.ceil(l.dataOff / PAGE);
  const hashOffset = CD_HEADER + ident.length;
  const cdLength = hashOffset + slots * HASH_SIZE;
  const superLength = 12 + 8 + cdLength;
  const sigSize = alignUp(superLength, 16);

  const out = new Uint8Array(l.dataOff + sigSize);
  out.set(input.subarray(0, Math.min(input.length, l.dataOff)));
  const le = new DataView(out.buffer);
  // The signature is the last thing in the file and in __LINKEDIT: both grow or shrink with it.
  le.setUint32(l.sigCmd + 12, sigSize, true);
  const linkeditFileOff = le.getBigUint64(l.linkedit + 40, true);
  const linkeditFileSize = BigInt(l.dataOff + sigSize) - linkeditFileOff;
  le.setBigUint64(l.linkedit + 48, linkeditFileSize, true);
  const vmsize = le.getBigUint64(l.linkedit + 32, true);
  const neededVm = BigInt(alignUp(Number(linkeditFileSize), 16384));
  if (neededVm > vmsize) le.setBigUint64(l.linkedit + 32, neededVm, true);

  const be = new DataView(out.buffer, l.dataOff, sigSize);
  be.setUint32(0, CSMAGIC_EMBEDDED_SIGNATURE);
  be.setUint32(4, superLength);
  be.setUint32(8, 1);
  be.setUint32(12, 0); // CSSLOT_CODEDIRECTORY
  be.setUint32(16, 20);
  const cd = 20;
  be.setUint32(cd + 0, CSMAGIC_CODEDIRECTORY);
  be.setUint32(cd + 4, cdLength);
  be.setUint32(cd + 8, 0x20400);
  be.setUint32(cd + 12, CS_ADHOC | CS_LINKER_SIGNED);
  be.setUint32(cd + 16, hashOffset);
  be.setUint32(cd + 20, CD_HEADER);
  be.setUint32(cd + 24, 0); // special slots
  be.setUint32(cd + 28, slots);
  be.setUint32(cd + 32, l.dataOff); // code limit
  be.setUint8(cd + 36, HASH_SIZE);
  be.setUint8(cd + 37, CS_HASHTYPE_SHA256);
  be.setUint8(cd + 38, 0); // platform
  be.setUint8(cd + 39, PAGE_SHIFT);
  // +40 spare2, +44 scatterOffset, +48 teamOffset, +52 spare3, +56 codeLimit64: all 0
  be.setBigUint64(cd + 64, 0n); // execSegBase: __TEXT starts the file
  be.setBigUint64(cd + 72, l.textFileSize);
  be.setBigUint64(cd + 80, BigInt(CS_EXECSEG_MAIN_BINARY));
  out.set(ident, l.dataOff + cd + CD_HEADER);
  // Hashed last: the header edits above are inside page 0.
  for (let p = 0; p < slots; p++) {
    const page = out.subarray(p * PAGE, Math.min((p + 1) * PAGE, l.dataOff));
    out.set(createHash("sha256").update(page).digest(), l.dataOff + cd + hashOffset + p * HASH_SIZE);
  }
  return out;
}
