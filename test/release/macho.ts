/**
 * Reads what macOS checks before it runs a 64-bit Mach-O executable, without a Mac: the header
 * (magic, CPU type, file type) and the ad-hoc code signature. On Apple Silicon the kernel kills an
 * executable whose signature does not match its pages (exit 137 before the first instruction), so
 * every page hash of the CodeDirectory is recomputed here.
 *
 * Layout (Apple's <mach-o/loader.h> and the xnu code-signing headers): the header and load
 * commands are little-endian; the signature blobs that LC_CODE_SIGNATURE points at are big-endian.
 */
import { createHash } from "node:crypto";

const MH_MAGIC_64 = 0xfeedfacf;
const MH_EXECUTE = 2;
const LC_CODE_SIGNATURE = 0x1d;
const CSMAGIC_EMBEDDED_SIGNATURE = 0xfade0cc0;
const CSMAGIC_CODEDIRECTORY = 0xfade0c02;
const CSSLOT_CODEDIRECTORY = 0;
const CS_HASHTYPE_SHA256 = 2;

export const CPU_TYPE = { x64: 0x01000007, arm64: 0x0100000c } as const;

export interface MachO {
  readonly magic: number;
  readonly cpuType: number;
  readonly fileType: number;
  readonly signature: CodeSignature | null;
}

export interface CodeSignature {
  /** Bytes covered by page hashes: everything before the signature. */
  readonly codeLimit: number;
  readonly signatureOffset: number;
  readonly pageSize: number;
  readonly hashType: number;
  readonly codeSlots: number;
  /** Page indexes whose recorded hash differs from the page's hash. */
  readonly badPages: readonly number[];
}

export function readMachO(buf: Uint8Array): MachO {
  const le = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const magic = le.getUint32(0, true);
  const cpuType = le.getUint32(4, true);
  const fileType = le.getUint32(12, true);
  if (magic !== MH_MAGIC_64) return { magic, cpuType, fileType, signature: null };
  const ncmds = le.getUint32(16, true);
  let off = 32;
  let signature: CodeSignature | null = null;
  for (let i = 0; i < ncmds; i++) {
    const cmd = le.getUint32(off, true);
    const size = le.getUint32(off + 4, true);
    if (cmd === LC_CODE_SIGNATURE) signature = readSignature(buf, le.getUint32(off + 8, true), le.getUint32(off + 12, true));
    off += size;
  }
  return { magic, cpuType, fileType, signature };
}

function readSignature(buf: Uint8Array, dataOff: number, dataSize: number): CodeSignature | null {
  const be = new DataView(buf.buffer, buf.byteOffset + dataOff, dataSize);
  if (be.getUint32(0) !== CSMAGIC_EMBEDDED_SIGNATURE) return null;
  const count = be.getUint32(8);
  for (let i = 0; i < count; i++) {
    const type = be.getUint32(12 + i * 8);
    const at = be.getUint32(16 + i * 8);
    if (type !== CSSLOT_CODEDIRECTORY || be.getUint32(at) !== CSMAGIC_CODEDIRECTORY) continue;
    const hashOffset = be.getUint32(at + 16);
    const codeSlots = be.getUint32(at + 28);
    const codeLimit = be.getUint32(at + 32);
    const hashSize = be.getUint8(at + 36);
    const hashType = be.getUint8(at + 37);
    const pageSize = 2 ** be.getUint8(at + 39);
    const badPages: number[] = [];
    for (let p = 0; p < codeSlots; p++) {
      const page = buf.subarray(p * pageSize, Math.min((p + 1) * pageSize, codeLimit));
      const want = buf.subarray(dataOff + at + hashOffset + p * hashSize, dataOff + at + hashOffset + (p + 1) * hashSize);
      const got = createHash(hashType === CS_HASHTYPE_SHA256 ? "sha256" : "sha1").update(page).digest().subarray(0, hashSize);
      if (!Buffer.from(got).equals(want)) badPages.push(p);
    }
    return { codeLimit, signatureOffset: dataOff, pageSize, hashType, codeSlots, badPages };
  }
  return null;
}

export { MH_EXECUTE, MH_MAGIC_64, CS_HASHTYPE_SHA256 };
