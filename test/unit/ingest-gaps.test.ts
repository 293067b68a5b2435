/**
 * The trade-id gaps Ingest keeps for /health: those written since a time, oldest first, and whether
 * any of that span was let go for the GAPS_KEPT bound (the figures /health gives are then lower bounds,
 * said "at least"; a walkthrough's overload gave up 2,925 gaps in a minute).
 */
import { expect, test } from "bun:test";
import { GAPS_KEPT, Ingest } from "../../src/pipeline/ingest.ts";
import type { Pipeline } from "../../src/pipeline/pipeline.ts";

/** The part of a Pipeline that Ingest.gap touches: the raw log's lines, here counted. */
function ingest(): { ingest: Ingest; lines: string[] } {
  const lines: string[] = [];
  const pipeline = { processor: () => null, lines: { append: (_s: string, _ts: number, line: string) => lines.push(line) } } as unknown as Pipeline;
  return { ingest: new Ingest(["BTCUSDT"], pipeline), lines };
}

test("gaps since a time: those kept, complete while none of that span was let go", () => {
  const { ingest: ing, lines } = ingest();
  const t0 = Date.now();
  for (let i = 0; i < 10; i++) ing.gap("BTCUSDT", "btcusdt@aggTrade", i * 10, i * 10 + 4);
  expect(lines).toHaveLength(10);
  const all = ing.gapsSince(t0 - 1000);
  expect(all.complete).toBe(true);
  expect(all.gaps.map((g) => [g.fromId, g.toId])).toEqual(Array.from({ length: 10 }, (_, i) => [i * 10, i * 10 + 4]));
  expect(ing.gapsSince(Date.now() + 1000)).toEqual({ gaps: [], complete: true });
});

test("past GAPS_KEPT the oldest are let go, and a span that had them is not complete", () => {
  const { ingest: ing } = ingest();
  const t0 = Date.now();
  const n = GAPS_KEPT + 25;
  for (let i = 0; i < n; i++) ing.gap("BTCUSDT", "btcusdt@aggTrade", i * 10, i * 10);
  const r = ing.gapsSince(t0 - 1000);
  expect(r.gaps).toHaveLength(GAPS_KEPT);
  expect(r.gaps[0]!.fromId).toBe(25 * 10);
  expect(r.complete).toBe(false);
  // A span that starts after the last gap let go is complete.
  expect(ing.gapsSince(Date.now() + 1).complete).toBe(true);
});
