/**
 * pipeline/health-log.ts: /health's verdict in the log — one warn line when the collector turns
 * unhealthy or its reasons change (their figures aside), one info line when it is healthy again.
 */
import { describe, expect, test } from "bun:test";
import { HealthLog } from "../../src/pipeline/health-log.ts";
import type { Logger } from "../../src/util/log.ts";

function logged() {
  const lines: { level: string; msg: string; fields?: Readonly<Record<string, unknown>> }[] = [];
  const log: Logger = { log: (level, msg, fields) => void lines.push({ level, msg, fields }), limited: () => {} };
  return { lines, h: new HealthLog(log) };
}

const silent = (age: number) => ({ ok: false, reasons: [`1 stream silent beyond timeout: btcusdt@depth5@100ms (${age} s)`] });

describe("HealthLog", () => {
  test("healthy from the start: nothing logged", () => {
    const { lines, h } = logged();
    h.look({ ok: true, reasons: [] }, 0);
    h.look({ ok: true, reasons: [] }, 5000);
    expect(lines).toEqual([]);
  });

  test("one line per condition however its figures change, one when it clears, with how long it lasted", () => {
    const { lines, h } = logged();
    h.look(silent(31), 10_000);
    h.look(silent(36), 15_000);
    h.look(silent(41), 20_000);
    h.look({ ok: true, reasons: [] }, 27_400);
    expect(lines.map((l) => [l.level, l.msg])).toEqual([["warn", "unhealthy"], ["info", "healthy again"]]);
    expect(lines[0]!.fields).toEqual({ reasons: silent(31).reasons });
    expect(lines[1]!.fields).toEqual({ unhealthy_for_s: 17 });
  });

  test("a reason added or gone while unhealthy is a new line; the duration runs from the first", () => {
    const { lines, h } = logged();
    h.look(silent(31), 0);
    const disk = "disk free 310 MiB is below the floor of 512 MiB";
    h.look({ ok: false, reasons: [...silent(36).reasons, disk] }, 5000);
    h.look({ ok: false, reasons: [disk] }, 10_000);
    h.look({ ok: false, reasons: ["disk free 290 MiB is below the floor of 512 MiB"] }, 15_000);
    h.look({ ok: true, reasons: [] }, 20_000);
    expect(lines.map((l) => l.msg)).toEqual(["unhealthy", "unhealthy", "unhealthy", "healthy again"]);
    expect(lines[2]!.fields).toEqual({ reasons: [disk] });
    expect(lines[3]!.fields).toEqual({ unhealthy_for_s: 20 });
  });

  test("unhealthy again after recovering: logged again", () => {
    const { lines, h } = logged();
    h.look(silent(31), 0);
    h.look({ ok: true, reasons: [] }, 5000);
    h.look(silent(31), 10_000);
    expect(lines.map((l) => l.msg)).toEqual(["unhealthy", "healthy again", "unhealthy"]);
  });
});
