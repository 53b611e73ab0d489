// The API reference as a newcomer meets it: /openapi.json from a running `wrangler dev` lints clean
// with @redocly/cli (0 errors), and /docs renders it in Chromium with every asset from the gateway.
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";
import { describe, expect, inject, it } from "vitest";

const gateway = inject("gatewayUrl");
const ROOT = path.resolve(import.meta.dirname, "..", "..");
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

describe("the API reference", () => {
  it("lints clean with @redocly/cli (0 errors, 0 warnings: every example fits its schema)", async () => {
    const doc = await (await fetch(`${gateway}/openapi.json`)).text();
    const dir = mkdtempSync(path.join(os.tmpdir(), "gateway-openapi-"));
    try {
      const file = path.join(dir, "openapi.json");
      writeFileSync(file, doc);
      const out = await new Promise<string>((resolve) => {
        execFile(path.join(ROOT, "node_modules", ".bin", "redocly"), ["lint", file, "--format=json", "--config", path.join(ROOT, "redocly.yaml")], { cwd: dir, env: { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true" }, maxBuffer: 64 << 20 }, (_err, stdout) => resolve(stdout));
      });
      const report = JSON.parse(out.slice(out.indexOf("{"))) as { totals: { errors: number; warnings: number }; problems: { severity: string; ruleId: string; message: string; location: { pointer: string }[] }[] };
      const problems = report.problems.map((p) => `${p.severity} ${p.ruleId}: ${p.message} at ${p.location[0]?.pointer ?? ""}`);
      expect(problems).toEqual([]);
      expect(report.totals.errors).toBe(0);
      expect(report.totals.warnings).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  // Generous waits: beside a full bench the page's bundle can take long to arrive; nothing here is timed.
  it("renders at /docs in Chromium, loading nothing from another origin", { timeout: 600_000 }, async () => {
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
    try {
      const page = await browser.newPage();
      const foreign: string[] = [];
      page.on("request", (r) => {
        if (!r.url().startsWith(gateway) && !r.url().startsWith("data:")) foreign.push(r.url());
      });
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(e.message));
      page.on("console", (m) => {
        if (m.type() === "error") errors.push(m.text());
      });
      await page.goto(`${gateway}/docs`, { timeout: 180_000 });
      await page.getByText("Edge payment gateway", { exact: false }).first().waitFor({ timeout: 120_000 }).catch((e: unknown) => {
        throw new Error(`${String(e)}\n${errors.join("\n")}\n${foreign.join("\n")}`);
      });
      // Every surface's tag is listed (collapsed).
      await page.locator(".opblock-tag", { hasText: "Checkout" }).first().waitFor({ timeout: 120_000 });
      expect(await page.locator(".opblock-tag").count()).toBeGreaterThanOrEqual(10);
      mkdirSync(path.join(ROOT, "test-artifacts", "docs"), { recursive: true });
      await page.screenshot({ path: path.join(ROOT, "test-artifacts", "docs", "docs-top.png") });
      // Opening the gateway's own tag shows /healthz.
      await page.locator("#operations-tag-Gateway").click();
      await page
        .locator('.opblock-summary-path[data-path="/healthz"]')
        .first()
        .waitFor({ timeout: 120_000 })
        .catch(async (e: unknown) => {
          const tags = await page.locator(".opblock-tag").allInnerTexts();
          throw new Error(`${String(e)}\ntags: ${tags.join(" | ")}`);
        });
      mkdirSync(path.join(ROOT, "test-artifacts", "docs"), { recursive: true });
      await page.screenshot({ path: path.join(ROOT, "test-artifacts", "docs", "docs.png") });
      expect(foreign).toEqual([]);
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
