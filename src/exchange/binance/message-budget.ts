/**
 * Binance closes a connection that sends more than 10 messages per second, and pings and pongs count
 * (docs/binance.md §2). This is a sliding-window budget per connection: a message may go out only
 * if fewer than `limit` went out in the last `windowMs`. The window is a little longer than a second
 * so that uneven network delays cannot squeeze 11 messages into one second at the server.
 */

/** Binance's documented limit of incoming messages per connection per second. */
export const MAX_CLIENT_MESSAGES_PER_SECOND = 10;

export class MessageBudget {
  private readonly sentAt: Float64Array;
  private next = 0;
  private count = 0;

  /**
   * `reserve` slots of every window are kept free for messages that go out regardless (the automatic
   * pong to a server ping), so our own messages plus those never exceed `limit`.
   */
  constructor(
    readonly limit: number = MAX_CLIENT_MESSAGES_PER_SECOND,
    readonly reserve = 1,
    readonly windowMs = 1100,
  ) {
    if (!(limit >= 1) || !(reserve >= 0) || reserve >= limit) throw new Error(`MessageBudget needs limit >= 1 and 0 <= reserve < limit, got ${limit}, ${reserve}`);
    this.sentAt = new Float64Array(limit);
  }

  /** Messages sent within the window ending at `now`. */
  used(now: number): number {
    let n = 0;
    for (let i = 0; i < this.count; i++) if (now - this.sentAt[i] < this.windowMs) n++;
    return n;
  }

  /** Takes a slot if one is free; false means the message must not be sent now. */
  tryTake(now: number): boolean {
    if (this.used(now) >= this.limit - this.reserve) return false;
    this.record(now);
    return true;
  }

  /** Records a message that went out regardless (it uses up a reserved slot). */
  force(now: number): void {
    this.record(now);
  }

  private record(now: number): void {
    // The ring holds the last `limit` send times, enough to count any window up to the limit.
    this.sentAt[this.next] = now;
    this.next = (this.next + 1) % this.limit;
    if (this.count < this.limit) this.count++;
  }
}
