// Loads romtrack's API documentation page in headless Chromium (Debian's package), prints the
// operations it lists, and runs "Try it out" on GET /api/health against the same server.
//   node web/check-docs.mjs http://127.0.0.1:8080/api/docs/
// Prints one JSON object: {"operations": ["GET /api/health", ...], "status": "200", "body": "..."}.
import { chromium } from "playwright-core";

const url = process.argv[2];
if (!url) {
  console.error("usage: node web/check-docs.mjs URL-OF-THE-DOCS-PAGE");
  process.exit(2);
}
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  // no sandbox as root; no background traffic on a machine without internet
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"],
});
try {
  const page = await browser.newPage();
  const failures = [];
  page.on("pageerror", (e) => failures.push(String(e)));
  await page.goto(url, { waitUntil: "load", timeout: 30000 });
  await page.waitForSelector(".opblock", { timeout: 30000 });
  const operations = await page.$$eval(".opblock", (blocks) =>
    blocks.map((b) => b.querySelector(".opblock-summary-method").textContent.trim() + " " +
                      b.querySelector(".opblock-summary-path").getAttribute("data-path")));
  const health = page.locator(".opblock-get", { has: page.locator('.opblock-summary-path[data-path="/api/health"]') });
  await health.locator(".opblock-summary").first().click();
  await health.locator("button.try-out__btn").click();
  await health.locator("button.execute").click();
  const status = health.locator(".live-responses-table tbody .response-col_status").first();
  await status.waitFor({ timeout: 30000 });
  const body = await health.locator(".live-responses-table .response-col_description pre.microlight").first().textContent();
  console.log(JSON.stringify({ operations, status: (await status.textContent()).trim(), body, failures }));
} finally {
  await browser.close();
}
