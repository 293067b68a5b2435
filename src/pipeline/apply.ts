/**
 * The one apply path shared by live ingest and replay: a record of a symbol's raw log applied to the
 * symbol's processor. Replay = live, row for row, because both call exactly this.
 */
import type { DecodedLine } from "../core/feed.ts";
import type { MarketEvent } from "../core/market-events.ts";
import type { SymbolStage } from "../core/stage.ts";

export function applyEvent(p: SymbolStage, ev: MarketEvent, tsRecv: number, backfilled: boolean): void {
  if (ev.kind === "depth") p.onDepth(ev, tsRecv);
  else p.onTrade(ev, tsRecv, backfilled);
}

/** A decoded raw-log line (replay). Returns whether it changed anything the engines track. */
export function applyDecoded(p: SymbolStage, d: DecodedLine): boolean {
  switch (d.type) {
    case "data":
      applyEvent(p, d.event, d.tsRecv, d.backfilled);
      return true;
    case "disconnect":
      p.onDisconnect(d.route);
      return true;
    case "snapshot":
      p.onDepthSnapshot?.(d.snapshot, d.tsRecv);
      return true;
    case "control":
      return true;
    default:
      return false;
  }
}
