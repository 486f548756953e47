// Loads romtrack's API documentation page in headless Chromium (Debian's package), prints the
// operations it lists, and runs "Try it out" on GET /api/health against the same server.
//   node web/check-docs.mjs http://127.0.0.1:8080/api/docs/ [--as-host NAME]
// --as-host loads the page as http://NAME:PORT/... with NAME resolved to the URL's address, as a user who reaches
// the server by a name (Swagger UI treats loopback addresses differently). Every request for another origin is
// recorded and aborted, so that nothing leaves the machine.
// Prints one JSON object: {"operations": ["GET /api/health", ...], "status": "200", "body": "...",
// "failures": [...], "foreign": [URLs of other origins the page asked for]}.
import { chromium } from "playwright-core";

const args = process.argv.slice(2);
let url = args[0];
const asHost = args[1] === "--as-host" ? args[2] : null;
if (!url || (args.length > 1 && !asHost) || args.length > 3) {
  console.error("usage: node web/check-docs.mjs URL-OF-THE-DOCS-PAGE [--as-host NAME]");
  process.exit(2);
}
const resolverArgs = [];
if (asHost) {
  const target = new URL(url);
  resolverArgs.push(`--host-resolver-rules=MAP ${asHost} ${target.hostname}`);
  target.hostname = asHost;
  url = target.href;
}
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  // no sandbox as root; no background traffic on a machine without internet
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", ...resolverArgs],
});
try {
  const page = await browser.newPage();
  const failures = [];
  page.on("pageerror", (e) => failures.push(String(e)));
  const origin = new URL(url).origin;
  const foreign = [];
  await page.route("**/*", (route) => {
    const requested = route.request().url();
    if (new URL(requested).origin === origin) {
      return route.continue();
    }
    foreign.push(requested);
    return route.abort();
  });
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
  // Give late requests (images, such as a validator badge) the time to start before the browser closes.
  await page.waitForLoadState("networkidle", { timeout: 10000 }).catch(() => {});
  console.log(JSON.stringify({ operations, status: (await status.textContent()).trim(), body, failures, foreign }));
} finally {
  await browser.close();
}
