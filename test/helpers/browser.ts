/**
 * A real browser for tests: headless Debian Chromium (/usr/bin/chromium) driven by playwright-core.
 * Every launch gets a fresh profile (playwright makes a temporary user-data dir and deletes it on
 * close), so no cache, cookie or service worker leaks between tests. Each opened page records every
 * console error, uncaught page error, failed request and HTTP error response, so a test can assert
 * "the page ran cleanly", and saves screenshots under test-artifacts/ (git-ignored) for a person to
 * look at.
 */
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { REPO } from "./binary.ts";

export const CHROMIUM_PATH = "/usr/bin/chromium";
export const ARTIFACTS_DIR = join(REPO, "test-artifacts");

/** Flags for a quiet, offline, container-friendly headless Chromium. */
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
] as const;

/**
 * Why a browser test cannot run here, or undefined when it can. Under CI (CI=true) a missing Chromium
 * is a failure, not a skip: .ci/run installs it.
 */
export function chromiumMissing(): string | undefined {
  if (existsSync(CHROMIUM_PATH)) return undefined;
  const why = `${CHROMIUM_PATH} not found (Debian package "chromium"; .ci/run installs it)`;
  if (process.env.CI === "true") throw new Error(why);
  return why;
}

export interface OpenOptions {
  /** CSS pixels; default 1280×900. Use e.g. { width: 390, height: 844 } for a phone. */
  readonly viewport?: { readonly width: number; readonly height: number };
  /** Scale factor for sharper screenshots (phones are 2–3). */
  readonly deviceScaleFactor?: number;
  readonly isMobile?: boolean;
  /** Sent with every request of the page, e.g. { Authorization: "Bearer …" }. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Answers an HTTP Basic challenge the way a person typing into the browser's prompt would. */
  readonly httpCredentials?: { readonly username: string; readonly password: string };
  /** page.goto waitUntil; default "load". */
  readonly waitUntil?: "load" | "domcontentloaded" | "networkidle" | "commit";
}

export interface OpenedPage {
  readonly page: Page;
  readonly context: BrowserContext;
  /** Console errors, page errors, failed requests and HTTP ≥ 400 responses, in arrival order. */
  readonly problems: readonly string[];
  /** HTTP status of the main document. */
  readonly status: number | null;
  /** Saves a full-page PNG as test-artifacts/<name>.png and returns its path. */
  screenshot(name: string, fullPage?: boolean): Promise<string>;
}

export interface TestBrowser {
  readonly browser: Browser;
  /** Opens `url` in a new, isolated context and waits for it to load. */
  open(url: string, options?: OpenOptions): Promise<OpenedPage>;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<TestBrowser> {
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: [...CHROMIUM_ARGS], timeout: 60_000 });
  return {
    browser,
    async open(url, options = {}) {
      const context = await browser.newContext({
        viewport: options.viewport ?? { width: 1280, height: 900 },
        deviceScaleFactor: options.deviceScaleFactor ?? 1,
        isMobile: options.isMobile ?? false,
        extraHTTPHeaders: options.headers ? { ...options.headers } : undefined,
        httpCredentials: options.httpCredentials ? { ...options.httpCredentials } : undefined,
      });
      const page = await context.newPage();
      const problems: string[] = [];
      page.on("console", (m) => {
        if (m.type() === "error") problems.push(`console error: ${m.text()}`);
      });
      page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
      page.on("requestfailed", (r) => problems.push(`request failed: ${r.method()} ${r.url()}: ${r.failure()?.errorText ?? "?"}`));
      page.on("response", (r) => {
        if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.request().method()} ${r.url()}`);
      });
      const response = await page.goto(url, { waitUntil: options.waitUntil ?? "load", timeout: 60_000 });
      return {
        page,
        context,
        problems,
        status: response?.status() ?? null,
        async screenshot(name, fullPage = true) {
          mkdirSync(ARTIFACTS_DIR, { recursive: true });
          const path = join(ARTIFACTS_DIR, `${name.replace(/[^A-Za-z0-9._-]/g, "_")}.png`);
          await page.screenshot({ path, fullPage });
          return path;
        },
      };
    },
    async close() {
      await browser.close();
    },
  };
}
