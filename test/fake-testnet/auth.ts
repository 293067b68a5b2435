// Request authentication as the USDⓈ-M futures API does it: the API key header, the signature over
// the exact parameter text sent (HMAC-SHA256 hex, or Ed25519 base64), and the timestamp window.
import { createHmac, createPublicKey, verify, type KeyObject } from "node:crypto";

export interface Credentials {
  readonly apiKey: string;
  /** HMAC secret; null when the key is an Ed25519 key. */
  readonly secret: string | null;
  /** Ed25519 public key (PEM) for Ed25519 API keys. */
  readonly ed25519PublicPem: string | null;
}

export type AuthFailure = { readonly status: number; readonly code: number; readonly msg: string };

/** Splits the parameter text into what was signed and the signature (always the last parameter). */
export function signedPayload(query: string, body: string): { payload: string; signature: string | null } {
  const all = [query, body].filter((s) => s.length > 0);
  // Binance signs `query + body` concatenated as sent; the signature is appended to whichever came last.
  const joined = all.join("");
  const m = /(^|&)signature=([^&]*)$/.exec(joined);
  if (m === null) return { payload: joined, signature: null };
  return { payload: joined.slice(0, m.index), signature: decodeURIComponent(m[2]!) };
}

export class Authenticator {
  private readonly pub: KeyObject | null;

  constructor(private readonly creds: Credentials) {
    this.pub = creds.ed25519PublicPem === null ? null : createPublicKey(creds.ed25519PublicPem);
  }

  apiKeyOk(header: string | null): AuthFailure | null {
    if (header === null || header === "") return { status: 401, code: -2014, msg: "API-key format invalid." };
    if (header !== this.creds.apiKey) return { status: 401, code: -2015, msg: "Invalid API-key, IP, or permissions for action." };
    return null;
  }

  signatureOk(query: string, body: string): AuthFailure | null {
    const { payload, signature } = signedPayload(query, body);
    if (signature === null) return { status: 400, code: -1102, msg: "Mandatory parameter 'signature' was not sent, was empty/null, or malformed." };
    let good = false;
    if (this.creds.secret !== null) {
      good = createHmac("sha256", this.creds.secret).update(payload).digest("hex") === signature;
    } else if (this.pub !== null) {
      try {
        good = verify(null, Buffer.from(payload), this.pub, Buffer.from(signature, "base64"));
      } catch {
        good = false;
      }
    }
    return good ? null : { status: 400, code: -1022, msg: "Signature for this request is not valid." };
  }

  /** `timestamp < serverTime + 1000` and `serverTime − timestamp ≤ recvWindow` (default 5000, max 60000). */
  static timestampOk(params: URLSearchParams, serverTime: number): AuthFailure | null {
    const ts = params.get("timestamp");
    if (ts === null || !/^\d+$/.test(ts)) return { status: 400, code: -1102, msg: "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed." };
    const rwText = params.get("recvWindow");
    const rw = rwText === null ? 5000 : Number(rwText);
    if (!Number.isInteger(rw) || rw <= 0 || rw > 60_000) return { status: 400, code: -1131, msg: "recvWindow must be less than 60000" };
    const t = Number(ts);
    if (!(t < serverTime + 1000 && serverTime - t <= rw)) return { status: 400, code: -1021, msg: "Timestamp for this request is outside of the recvWindow." };
    return null;
  }
}
