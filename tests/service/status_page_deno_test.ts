// The status page end to end in headless Chromium (Debian `chromium`, provisioned by
// scripts/test.ts), driven by playwright-core. Deno only: the npm build does not carry the
// playwright-core import.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { chromium } from "npm:playwright-core@1.65.2";
import { IoraService } from "../../service/iora_service.ts";
import { tempDir } from "../harness.ts";
import { pluginFixture, serviceConfig } from "./_fixtures.ts";

const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** The little of the DOM the page functions below use (they run in the browser). */
interface PageElement {
  textContent: string | null;
  getAttribute(name: string): string | null;
}
declare const document: {
  getElementById(id: string): PageElement | null;
  querySelector(selector: string): PageElement | null;
};

/** Where the screenshot goes: `.tmp/` at the repository root (gitignored). */
const SCREENSHOT = new URL("../../.tmp/status_page.png", import.meta.url);

describe("status page GET /_iora", () => {
  it("loads in Chromium without a console error, shows a plugin loaded meanwhile, and its counters move", async () => {
    await using dir = await tempDir();
    await using profile = await tempDir("iora-chromium-");
    const service = await IoraService.create(serviceConfig(dir));
    service.webhookServer.onGet("/work/{n}", (req, res) => res.json({ n: req.params.n }));
    const browser = await chromium.launchPersistentContext(profile.path, {
      executablePath: "/usr/bin/chromium",
      headless: true,
      args: CHROMIUM_ARGS,
    });
    try {
      const page = await browser.newPage();
      const problems: string[] = [];
      page.on("console", (m) => {
        if (m.type() === "error" || m.type() === "warning") {
          problems.push(`${m.type()}: ${m.text()}`);
        }
      });
      page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
      page.on("requestfailed", (r) => problems.push(`request failed: ${r.url()}`));
      const base = `http://127.0.0.1:${service.webhookServer.port}`;
      const response = await page.goto(`${base}/_iora`);
      assert.equal(response?.status(), 200);
      await page.waitForFunction(() => document.getElementById("health")?.textContent === "pass");
      assert.match(await page.textContent("#plugins tbody") ?? "", /no plugins loaded/);

      // A plugin loaded while the page is open appears, with its exported APIs and their calls.
      await service.loadSingleModule(pluginFixture("base"));
      service.callExportedApi("base.add", 1, 2);
      await page.waitForFunction(
        () => document.querySelector("#plugins tbody")?.textContent?.includes("base.add (1 / 0)"),
        undefined,
        { timeout: 2_000 },
      );
      assert.match(await page.textContent("#routes tbody") ?? "", /\/work\/\{n\}/);

      // Traffic moves the request counter within 2 s, by at least the requests sent.
      const before = Number(await page.textContent("#requests"));
      for (let i = 0; i < 20; i++) await (await fetch(`${base}/work/${i}`)).body?.cancel();
      await page.waitForFunction(
        (min: number) => Number(document.getElementById("requests")?.textContent) >= min,
        before + 20,
        { timeout: 2_000 },
      );
      // The sparklines have points once two polls have been compared.
      await page.waitForFunction(
        () => document.querySelector("#rate-spark polyline")?.getAttribute("points") !== "",
        undefined,
        { timeout: 2_000 },
      );
      assert.match(await page.textContent("#routes tbody") ?? "", /GET\/work\/\{n\}host20/);

      await Deno.mkdir(new URL(".", SCREENSHOT), { recursive: true });
      await page.screenshot({ path: SCREENSHOT.pathname, fullPage: true });
      console.log(`status page screenshot: ${SCREENSHOT.pathname}`);
      assert.deepEqual(problems, []);
    } finally {
      await browser.close();
      await service.shutdown();
    }
  });

  it("is not served when statusPage is off", async () => {
    await using dir = await tempDir();
    const service = await IoraService.create(
      serviceConfig(dir, { server: { statusPage: "off" } }),
    );
    try {
      const base = `http://127.0.0.1:${service.webhookServer.port}`;
      for (const path of ["/_iora", "/_iora/stats"]) {
        const response = await fetch(base + path);
        assert.equal(response.status, 404, path);
        await response.body?.cancel();
      }
    } finally {
      await service.shutdown();
    }
  });
});
