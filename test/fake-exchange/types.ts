// Shapes shared by the fake exchange's modules and its users.

/** Routed entry point of a connection; "unrouted" = legacy `/stream` or `/ws` (serves /public only). */
export type Route = "public" | "market" | "unrouted";
/** depthDiff = `<sym>@depth@100ms` (option diffDepth). */
export type StreamKind = "depth5" | "aggTrade" | "depthDiff";

/** A data event as the exchange produced it, before fan-out to connections. */
export interface Frame {
  readonly stream: string;
  readonly symbol: string;
  readonly kind: StreamKind;
  /** The payload JSON text (the `data` part of the combined wrapper). */
  readonly data: string;
}

export interface ConnectionView {
  readonly id: number;
  readonly route: Route;
  readonly mode: "combined" | "raw";
  readonly url: string;
}

export interface ConnectionRecord extends ConnectionView {
  readonly openedAt: number;
  closedAt?: number;
  closeCode?: number;
  closeReason?: string;
  /** Streams requested in the URL. */
  readonly urlStreams: readonly string[];
  /** Currently subscribed (URL + SUBSCRIBE − UNSUBSCRIBE), whether or not they deliver on this route. */
  readonly streams: Set<string>;
  pingsSent: number;
  pongsReceived: number;
  lastPongAt?: number;
  framesSent: number;
  /** Every text message, ping and pong the client sent (pings and pongs as "<ping>"/"<pong>"). */
  readonly clientMessages: { readonly at: number; readonly text: string }[];
  /** Wall-clock seconds in which the client exceeded the message limit, with the count reached. */
  readonly rateViolations: { readonly second: number; count: number }[];
}

export interface SentFrame {
  readonly connId: number;
  readonly route: Route;
  /** null for control responses (SUBSCRIBE results, errors). */
  readonly stream: string | null;
  readonly text: string;
  readonly at: number;
}

export interface ProducedTrade {
  readonly a: number;
  /** Exact payload JSON text, identical to the `data` of every frame that carried this trade. */
  readonly text: string;
}

export interface UpgradeAttempt {
  readonly at: number;
  readonly url: string;
  readonly route: Route;
  /** 101 when accepted, otherwise the HTTP status answered. */
  readonly status: number;
}

export interface RestRecord {
  readonly at: number;
  readonly path: string;
  readonly query: string;
  readonly status: number;
  readonly weight: number;
}

/**
 * Fault injection hook points. The frame pipeline calls them; the built-in controls
 * (silence, rejectUpgrades, dropConnections) are implemented beside them in faults.ts.
 */
export interface FaultHooks {
  /**
   * Per connection and data frame, after wrapping. Return the texts to send instead:
   * [] skips, [t, t] duplicates, an altered text is malformed. undefined = send unchanged.
   */
  beforeSend?(text: string, frame: Frame, conn: ConnectionView): readonly string[] | undefined;
  /** Before fan-out of a produced frame. Return null to withhold it from everyone. */
  beforePublish?(frame: Frame): Frame | null | undefined;
  /** Before a WebSocket upgrade; a Response rejects it. */
  beforeUpgrade?(req: Request, route: Route): Response | undefined;
}
