/**
 * When a collector that publishes to NATS (one of possibly several redundant collectors) trades
 * without the account's lease, the run says so (src/pipeline/trading.ts `leaseWarning`): each such
 * collector would run a trader and send the same orders.
 */
import { describe, expect, test } from "bun:test";
import { ConfigSchema } from "../../src/config/schema.ts";
import { leaseWarning } from "../../src/pipeline/trading.ts";

const cfg = (natsOn: boolean, lease: "none" | "nats") => ConfigSchema.parse({ publish: { nats: { enable: natsOn } }, trade: { lease } });

describe("trade lease warning", () => {
  test("publishing to NATS and trading without the lease is warned about, naming the setting", () => {
    expect(leaseWarning(cfg(true, "none"))).toContain('trade.lease = "nats"');
  });

  test("no warning with the lease, or without NATS", () => {
    expect(leaseWarning(cfg(true, "nats"))).toBeNull();
    expect(leaseWarning(cfg(false, "none"))).toBeNull();
  });
});
