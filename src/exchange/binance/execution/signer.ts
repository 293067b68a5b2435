/**
 * Request signing for USDⓈ-M futures signed endpoints: the exact parameter text that is sent is
 * signed, with HMAC-SHA256 (lower-case hex) for HMAC keys, or Ed25519 (base64) for Ed25519 keys.
 * The key material stays inside the closure: nothing here can print it.
 */
import { createHmac, createPrivateKey, sign as edSign, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";

export interface Signer {
  readonly kind: "hmac" | "ed25519";
  /** The `signature` parameter value (not yet URL-encoded). */
  sign(payload: string): string;
}

export function hmacSigner(secret: string): Signer {
  return { kind: "hmac", sign: (payload) => createHmac("sha256", secret).update(payload).digest("hex") };
}

export function ed25519Signer(key: KeyObject): Signer {
  if (key.asymmetricKeyType !== "ed25519") throw new Error(`expected an Ed25519 private key, got ${key.asymmetricKeyType ?? "unknown"}`);
  return { kind: "ed25519", sign: (payload) => edSign(null, Buffer.from(payload), key).toString("base64") };
}

export interface ApiCredentials {
  readonly apiKey: string;
  readonly signer: Signer;
}

export type CredentialsResult = { readonly ok: true; readonly creds: ApiCredentials } | { readonly ok: false; readonly error: string };

/**
 * Keys come only from the environment: BINANCE_API_KEY with BINANCE_API_SECRET (HMAC) or
 * BINANCE_ED25519_KEY_FILE (a PEM private key). Errors name the variable, never its value.
 */
export function credentialsFromEnv(env: Readonly<Record<string, string | undefined>>): CredentialsResult {
  const apiKey = env.BINANCE_API_KEY ?? "";
  const secret = env.BINANCE_API_SECRET ?? "";
  const keyFile = env.BINANCE_ED25519_KEY_FILE ?? "";
  if (apiKey === "") return { ok: false, error: "BINANCE_API_KEY is not set (trading needs an API key from the environment)" };
  // The venue answers a padded key or secret only with "Signature for this request is not valid".
  for (const [name, v] of [["BINANCE_API_KEY", apiKey], ["BINANCE_API_SECRET", secret]] as const) {
    if (v !== v.trim()) return { ok: false, error: `${name} has leading or trailing whitespace (a newline from the file or shell that set it?): remove it` };
  }
  if (secret !== "" && keyFile !== "") return { ok: false, error: "set either BINANCE_API_SECRET (HMAC) or BINANCE_ED25519_KEY_FILE (Ed25519), not both" };
  if (secret !== "") return { ok: true, creds: { apiKey, signer: hmacSigner(secret) } };
  if (keyFile === "") return { ok: false, error: "neither BINANCE_API_SECRET nor BINANCE_ED25519_KEY_FILE is set" };
  let pem: string;
  try {
    pem = readFileSync(keyFile, "utf8");
  } catch (e) {
    return { ok: false, error: `BINANCE_ED25519_KEY_FILE ${keyFile}: cannot read (${(e as NodeJS.ErrnoException).code ?? "error"})` };
  }
  try {
    return { ok: true, creds: { apiKey, signer: ed25519Signer(createPrivateKey(pem)) } };
  } catch (e) {
    return { ok: false, error: `BINANCE_ED25519_KEY_FILE ${keyFile}: not an Ed25519 private key in PEM (${(e as Error).message.split("\n")[0]})` };
  }
}
