/** A strategy for the live trader's tests: it emits the intents a test queues (at the next fusion row) and records what it is told. */
import type { RowKind } from "../../src/core/rows.ts";
import type { Fill, Halt, Intent, PositionView, Strategy } from "../../src/trading/strategy/contract.ts";

export class ScriptedStrategy implements Strategy {
  onDecision = null;
  filter = null;
  readonly queue: Intent[] = [];
  readonly fills: Fill[] = [];
  readonly done: string[] = [];
  /** Keys the executor refused before sending (onIntentDone with sent = false). */
  readonly unsent: string[] = [];
  /** Halts the executor told (onHalt). */
  readonly told: Halt[] = [];
  onRow(kind: RowKind): readonly Intent[] {
    return kind === "fusion" ? this.queue.splice(0) : [];
  }
  onFill(f: Fill): void {
    this.fills.push(f);
  }
  onIntentDone(_s: string, key: string, sent = true): void {
    this.done.push(key);
    if (!sent) this.unsent.push(key);
  }
  onHalt(h: Halt): void {
    this.told.push(h);
  }
  flatten(): readonly Intent[] {
    return [];
  }
  position(): PositionView | null {
    return null;
  }
  /** A halt of the strategy's own book a test sets (its loss limits tripped). */
  halt: Halt | null = null;
  halts(): readonly Halt[] {
    return this.halt === null ? [] : [this.halt];
  }
}
