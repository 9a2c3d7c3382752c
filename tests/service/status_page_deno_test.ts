// The status page end to end in headless Chromium (Debian `chromium`, provisioned by
// scripts/test.ts), driven over the DevTools protocol. Deno only (the driver uses Deno.Command).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { IoraService } from "../../service/iora_service.ts";
import { tempDir } from "../harness.ts";
import { launchChromium } from "../fixtures/chromium.ts";
import { pluginFixture, serviceConfig } from "./_fixtures.ts";

/** Where the screenshot goes: `.tmp/` at the repository root (gitignored). */
const SCREENSHOT = new URL("../../.tmp/status_page.png", import.meta.url);

const text = (selector: string) =>
  `document.querySelector(${JSON.stringify(selector)}).textContent`;

describe("status page GET /_iora", () => {
  it("loads in Chromium without a console error, shows a plugin loaded meanwhile, and its counters move", async () => {
    await using dir = await tempDir();
    const service = await IoraService.create(serviceConfig(dir));
    service.webhookServer.onGet("/work/{n}", (req, res) => res.json({ n: req.params.n }));
    try {
      await using page = await launchChromium();
      const base = `http://127.0.0.1:${service.webhookServer.port}`;
      await page.goto(`${base}/_iora`);
      await page.waitFor(`${text("#health")} === "pass"`);
      assert.match(await page.evaluate<string>(text("#plugins tbody")), /no plugins loaded/);

      // A plugin loaded while the page is open appears, with its exported APIs and their calls.
      await service.loadSingleModule(pluginFixture("base"));
      service.callExportedApi("base.add", 1, 2);
      await page.waitFor(`${text("#plugins tbody")}.includes("base.add (1 / 0)")`, 2_000);
      assert.match(await page.evaluate<string>(text("#routes tbody")), /\/work\/\{n\}/);

      // Traffic moves the request counter within 2 s, by at least the requests sent.
      const before = Number(await page.evaluate<string>(text("#requests")));
      for (let i = 0; i < 20; i++) await (await fetch(`${base}/work/${i}`)).body?.cancel();
      await page.waitFor(`Number(${text("#requests")}) >= ${before + 20}`, 2_000);
      // The sparklines have points once two polls have been compared.
      await page.waitFor(
        `document.querySelector("#rate-spark polyline").getAttribute("points") !== ""`,
        2_000,
      );
      assert.match(await page.evaluate<string>(text("#routes tbody")), /GET\/work\/\{n\}host20/);

      await Deno.mkdir(new URL(".", SCREENSHOT), { recursive: true });
      await Deno.writeFile(SCREENSHOT, await page.screenshot());
      console.log(`status page screenshot: ${SCREENSHOT.pathname}`);
      assert.deepEqual(page.problems, []);
    } finally {
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
