/**
 * Issue "Operator surface", /health against the compiled binary and the fake exchange: 200 only when
 * every stream delivered within its timeout, the writers report no error and the disk is above the
 * floor; 503 with the reasons otherwise, and back to 200 once the cause is gone.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { waitFor } from "../helpers/binary.ts";
import { startCollector, waitForHealth, type CollectorUnderTest } from "./http-support.ts";
import { HEALTH_LOOK_EVERY_MS } from "../../src/pipeline/health-log.ts";

type LogLine = { level: string; msg: string; reasons?: string[]; unhealthy_for_s?: number };

/** The collector's `unhealthy` / `healthy again` lines so far, from its run log in ARTIFACTS_DIR. */
const healthLines = (c: CollectorUnderTest): LogLine[] => {
  const dir = join(c.dir, "artifacts", "run_logs");
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .sort()
    .flatMap((f) => readFileSync(join(dir, f), "utf8").split("\n"))
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as LogLine)
    .filter((l) => l.msg === "unhealthy" || l.msg === "healthy again");
};

const metricValue = async (c: CollectorUnderTest, line: string): Promise<number> => {
  const text = await (await c.get("/metrics")).text();
  const m = text.split("\n").find((l) => l.startsWith(line + " "));
  if (m === undefined) throw new Error(`metric ${line} not found`);
  return Number(m.slice(line.length + 1));
};

describe("/health of a running collector", () => {
  let c: CollectorUnderTest;

  beforeAll(async () => {
    c = await startCollector({
      symbols: ["BTCUSDT", "ETHUSDT"],
      fake: { speed: 2 },
      env: { PARQUET_ROTATE_SEC: "1", ORDERBOOK_ROTATE_SEC: "1" },
      args: ["--set", "health.depth_timeout_sec=3", "--set", "health.trade_timeout_sec=4"],
    });
  }, 60_000);

  afterAll(async () => {
    const r = await c?.stop();
    if (r !== undefined && r.exitCode !== 0) console.error(r.stderr);
  });

  test("200 {ok:true} with no reasons while data flows and files are written", async () => {
    const body = await waitForHealth(c, 200);
    expect(body.ok).toBe(true);
    expect(body.reasons).toEqual([]);
    expect(await metricValue(c, "harvestd_healthy")).toBe(1);
  });

  test("a silent depth route: 503 naming each silent depth stream (not the trade streams), then 200 again", async () => {
    c.fake.silence("public", true);
    let body: { ok: boolean; reasons: string[] };
    try {
      body = await waitForHealth(c, 503);
      expect(await metricValue(c, "harvestd_healthy")).toBe(0);
    } finally {
      c.fake.silence("public", false);
    }
    expect(body.ok).toBe(false);
    const silent = body.reasons.find((r) => r.includes("silent beyond timeout"));
    expect(silent).toMatch(/^2 streams silent beyond timeout: /);
    expect(silent).toContain("btcusdt@depth5@100ms (");
    expect(silent).toContain("ethusdt@depth5@100ms (");
    expect(silent).not.toContain("aggTrade");
    const back = await waitForHealth(c, 200);
    expect(back.reasons).toEqual([]);
  }, 60_000);

  test("a silent trade route: 503 naming the aggTrade streams after their own (longer) timeout, then 200 again", async () => {
    await waitForHealth(c, 200);
    const silencedAt = Date.now();
    c.fake.silence("market", true);
    let body: { ok: boolean; reasons: string[] };
    try {
      body = await waitForHealth(c, 503);
    } finally {
      c.fake.silence("market", false);
    }
    const silent = body.reasons.find((r) => r.includes("silent beyond timeout"))!;
    expect(silent).toContain("btcusdt@aggTrade (");
    expect(silent).toContain("ethusdt@aggTrade (");
    expect(silent).not.toContain("depth5");
    // Judged by the 4 s trade timeout, not the 3 s depth one.
    const ages = [...silent.matchAll(/\((\d+) s\)/g)].map((m) => Number(m[1]));
    expect(ages.length).toBe(2);
    for (const a of ages) expect(a).toBeGreaterThanOrEqual(4);
    expect(Date.now() - silencedAt).toBeGreaterThan(3000);
    await waitForHealth(c, 200);
  }, 60_000);

  test("a Parquet writer error (the kind's folder replaced by a file): 503 naming the kind, then 200 once writable again", async () => {
    await waitForHealth(c, 200);
    // The prices folder of BTCUSDT for today's partition, once the first file is in it.
    const kindDir = await waitFor(
      "a committed BTCUSDT prices file",
      () => {
        const raw = join(c.dir, "raw");
        const dates = existsSync(raw) ? readdirSync(raw).filter((d) => d.startsWith("date=")).sort() : [];
        const d = dates.length === 0 ? undefined : join(raw, dates.at(-1)!, "symbol=BTCUSDT", "kind=prices");
        return d !== undefined && existsSync(d) && readdirSync(d).some((f) => f.endsWith(".parquet")) ? d : undefined;
      },
      20_000,
    );
    const aside = `${kindDir}.aside`;
    renameSync(kindDir, aside);
    writeFileSync(kindDir, "not a folder");
    let body: { ok: boolean; reasons: string[] };
    try {
      body = await waitForHealth(c, 503);
    } finally {
      rmSync(kindDir, { force: true });
      renameSync(aside, kindDir);
    }
    const reason = body.reasons.find((r) => r.startsWith("parquet writes failing"));
    // Writes to a failing root queue behind its held write, so orderbook (same root) may be named too.
    expect(reason).toMatch(/^parquet writes failing for kind [a-z, ]*\bprices\b[a-z, ]* \((ENOTDIR|EEXIST)\), retrying$/);
    // /health is public: no path in the reasons.
    expect(JSON.stringify(body)).not.toContain(c.dir);
    expect(await metricValue(c, 'harvestd_parquet_kind_failing{kind="prices"}')).toBe(1);
    await waitForHealth(c, 200);
    expect(await metricValue(c, 'harvestd_parquet_kind_failing{kind="prices"}')).toBe(0);
    // The held batch was written once the folder came back: nothing lost.
    expect(await metricValue(c, "harvestd_parquet_rows_lost_total")).toBe(0);
    expect(await metricValue(c, "harvestd_parquet_write_errors_total")).toBeGreaterThan(0);
  }, 60_000);

  test("the log says when it turns unhealthy, with the reasons, once per condition, and when it is healthy again", async () => {
    await waitForHealth(c, 200);
    // A look at the healthy collector first, so the lines counted from here are this condition's.
    await Bun.sleep(HEALTH_LOOK_EVERY_MS + 500);
    const before = healthLines(c).length;
    c.fake.silence("public", true);
    let unhealthy: LogLine;
    try {
      unhealthy = await waitFor(
        "an 'unhealthy' line naming the silent depth streams",
        () => healthLines(c).slice(before).find((l) => l.msg === "unhealthy" && (l.reasons ?? []).some((r) => r.includes("btcusdt@depth5@100ms"))),
        20_000,
        200,
      );
      // Another look with the silence older (its age in the reason changed): still the same condition.
      await Bun.sleep(HEALTH_LOOK_EVERY_MS + 1000);
    } finally {
      c.fake.silence("public", false);
    }
    const again = await waitFor("a 'healthy again' line", () => healthLines(c).slice(before).find((l) => l.msg === "healthy again"), 20_000, 200);
    const lines = healthLines(c).slice(before);
    expect(lines.map((l) => l.msg)).toEqual(["unhealthy", "healthy again"]);
    expect(unhealthy.level).toBe("warn");
    expect(unhealthy.reasons!.find((r) => r.includes("silent beyond timeout"))).toMatch(/^2 streams silent beyond timeout: .*ethusdt@depth5@100ms/);
    expect(again.level).toBe("info");
    expect(again.unhealthy_for_s).toBeGreaterThanOrEqual(5);
  }, 60_000);
});

describe("/health and a misspelt symbol", () => {
  test("a configured name the exchange does not list: one reason that says to check the name, and the log says so once", async () => {
    // The exchange serves SANDUSDT; the collector is told to collect a name it does not have too.
    const c = await startCollector({ symbols: ["SANDUSDT"], env: { SYMBOLS: "SANDUSDT,SANDUSD" } });
    try {
      // The first listing check comes 10 s after the start.
      const body = await waitFor("/health naming the unlisted symbol", async () => {
        const h = await c.health();
        return h.body.reasons.some((r) => r.includes("not trading on the exchange")) ? h.body : undefined;
      }, 40_000, 250);
      expect(body.reasons.find((r) => r.includes("not trading on the exchange"))).toBe(
        "1 configured symbol not trading on the exchange: SANDUSD (absent); check its name or remove it from symbols",
      );
      // Its streams' silence is not counted on top.
      expect(body.reasons.some((r) => r.includes("sandusd@"))).toBe(false);
    } finally {
      const r = await c.stop();
      expect(r.exitCode).toBe(0);
      const lines = r.stderr.split("\n").filter((l) => l.includes('"symbol":"SANDUSD"'));
      expect(lines.filter((l) => l.includes("symbol not listed on the exchange: check its name")).length).toBe(1);
    }
  }, 60_000);
});

describe("/health and the disk floor", () => {
  test("free disk below health.disk_free_floor_mb: 503 with the figures, from the start", async () => {
    const c = await startCollector({ symbols: ["SANDUSDT"], args: ["--set", "health.disk_free_floor_mb=1000000000"] });
    try {
      // Past start-up (503 `starting` until every connection delivered): the disk is the one reason left.
      const body = await waitFor("/health 503 past start-up", async () => {
        const h = await c.health();
        return h.status === 503 && !h.body.reasons.some((r) => r.startsWith("starting")) ? h.body : undefined;
      }, 30_000, 250);
      const reason = body.reasons.find((r) => r.startsWith("disk free"));
      expect(reason).toMatch(/^disk free \d+ MiB is below the floor of 1000000000 MiB$/);
      expect(body.reasons.length).toBe(1);
    } finally {
      const r = await c.stop();
      expect(r.exitCode).toBe(0);
    }
  }, 60_000);
});
