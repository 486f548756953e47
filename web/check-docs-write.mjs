// A write from romtrack's API documentation page in headless Chromium (Debian's package): "Authorize" with a
// token (unless --no-token), then "Try it out" on POST /api/releases/{id}/restore for the release ID.
//   node web/check-docs-write.mjs http://127.0.0.1:8080/api/docs/ ID (TOKEN_FILE | --no-token)
// The token is read from a file, never from the command line (a process list would show it). Every request for
// another origin is aborted. Prints one JSON object: {"status": "200", "body": "...", "authorization": true when
// the request the page sent carried "Authorization: Bearer <the token>", "failures": [...], "foreign": [...]}.
import { readFileSync } from "node:fs";
import { chromium } from "playwright-core";

const [url, id, tokenFile] = process.argv.slice(2);
if (!url || !/^[1-9][0-9]*$/.test(id || "") || !tokenFile || process.argv.length > 5) {
  console.error("usage: node web/check-docs-write.mjs URL-OF-THE-DOCS-PAGE ID (TOKEN_FILE | --no-token)");
  process.exit(2);
}
const token = tokenFile === "--no-token" ? null : readFileSync(tokenFile, "utf8").trim();
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"],
});
try {
  const page = await browser.newPage();
  const failures = [];
  page.on("pageerror", (e) => failures.push(String(e)));
  const origin = new URL(url).origin;
  const foreign = [];
  let authorization = false;
  await page.route("**/*", (route) => {
    const request = route.request();
    if (new URL(request.url()).origin !== origin) {
      foreign.push(request.url());
      return route.abort();
    }
    if (request.method() === "POST" && request.url().endsWith(`/api/releases/${id}/restore`)) {
      authorization = token !== null && request.headers()["authorization"] === `Bearer ${token}`;
    }
    return route.continue();
  });
  await page.goto(url, { waitUntil: "load", timeout: 30000 });
  await page.waitForSelector(".opblock", { timeout: 30000 });
  if (token !== null) {
    await page.locator(".auth-wrapper button.authorize").first().click();
    const modal = page.locator(".modal-ux");
    await modal.locator("input").first().fill(token);
    await modal.locator("button.modal-btn.auth.authorize").first().click();
    await modal.locator("button.btn-done").first().click();
  }
  const op = page.locator(".opblock-post", {
    has: page.locator('.opblock-summary-path[data-path="/api/releases/{id}/restore"]'),
  });
  await op.locator(".opblock-summary").first().click();
  await op.locator("button.try-out__btn").click();
  await op.locator(".parameters input").first().fill(id);
  await op.locator("button.execute").click();
  const status = op.locator(".live-responses-table tbody .response-col_status").first();
  await status.waitFor({ timeout: 30000 });
  const body = await op.locator(".live-responses-table .response-col_description pre.microlight").first().textContent();
  await page.waitForLoadState("networkidle", { timeout: 10000 }).catch(() => {});
  console.log(JSON.stringify({ status: (await status.textContent()).trim(), body, authorization, failures, foreign }));
} finally {
  await browser.close();
}
