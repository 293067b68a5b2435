/** A strategy for the live trader's tests: it emits the intents a test queues (at the next fusion row) and records what it is told. */
import type { RowKind } from "../../src/core/rows.ts";
import type { Fill, Halt, Intent, PositionView, Strategy } from "../../src/trading/strategy/contract.ts";

export class ScriptedStrategy implements Strategy {
  onDecision = null;
  filter = null;
  readonly queue: Intent[] = [];
  readonly fills: Fill[] = [];
  readonly done: string[] = [];
  onRow(kind: RowKind): readonly Intent[] {
    return kind === "fusion" ? this.queue.splice(0) : [];
  }
  onFill(f: Fill): void {
    this.fills.push(f);
  }
  onIntentDone(_s: string, key: string): void {
    this.done.push(key);
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
