/**
 * WebSocket sender for the ceiling benchmark, run as its own process so that sending does not share
 * the receiver's event loop: `bun bench/lib/ws-sender.ts` prints `{"port":N}` and then, for each
 * connection to `/?seconds=S`, sends the real frames of the corpus round-robin as fast as the socket
 * takes them (corked batches, pausing on backpressure) for S seconds, then one text `END <count>`.
 */
import { loadCeilingFrames } from "./frames.ts";

const frames = loadCeilingFrames();
const BATCH = 512;

interface Job {
  readonly until: number;
  sent: number;
  i: number;
  done: boolean;
}

const server = Bun.serve<Job>({
  hostname: "127.0.0.1",
  port: 0,
  fetch(req, srv) {
    const seconds = Number(new URL(req.url).searchParams.get("seconds") ?? "2");
    if (srv.upgrade(req, { data: { until: 0, sent: 0, i: seconds, done: false } })) return undefined;
    return new Response("websocket only", { status: 400 });
  },
  websocket: {
    // The receiver's speed is the figure: never drop, wait for drain instead.
    backpressureLimit: 64 * 1024 * 1024,
    closeOnBackpressureLimit: false,
    open(ws) {
      const seconds = ws.data.i;
      ws.data = { until: performance.now() + seconds * 1000, sent: 0, i: 0, done: false };
      pump(ws);
    },
    drain(ws) {
      pump(ws);
    },
    message() {},
  },
});

function pump(ws: Bun.ServerWebSocket<Job>): void {
  const job = ws.data;
  if (job.done) return;
  let blocked = false;
  while (!blocked) {
    if (performance.now() >= job.until) {
      job.done = true;
      ws.sendText(`END ${job.sent}`);
      return;
    }
    ws.cork(() => {
      for (let k = 0; k < BATCH; k++) {
        const r = ws.sendText(frames[job.i]!);
        job.i = job.i + 1 === frames.length ? 0 : job.i + 1;
        job.sent++;
        if (r === 0) throw new Error("ws-sender: frame dropped (backpressure limit)");
        if (r === -1) {
          blocked = true;
          break;
        }
      }
    });
  }
}

process.stdout.write(`${JSON.stringify({ port: server.port, frames: frames.length })}\n`);
process.on("SIGTERM", () => {
  server.stop(true);
  process.exit(0);
});
