// A page on another origin calls romtrack from headless Chromium (Debian's package) with fetch() and the
// request headers pages commonly set, so that Chromium sends its own CORS preflight and decides.
//   node web/check-cors.mjs http://127.0.0.1:8080/api/regions
// The page is served from a loopback port of its own (another origin; the same address space, so that Chromium's
// local network access rules do not interfere).
// Prints one JSON object per case: {"headers": {...}, "status": 200 | null, "error": null | "...",
// "console": [Chromium's error messages, e.g. why CORS failed]}.
import { createServer } from "node:http";
import { chromium } from "playwright-core";

const url = process.argv[2];
if (!url) {
  console.error("usage: node web/check-cors.mjs URL-OF-AN-API-ROUTE");
  process.exit(2);
}
const cases = [
  { "Cache-Control": "no-cache" },
  { "X-Requested-With": "XMLHttpRequest" },
  { "Cache-Control": "no-cache", "X-Requested-With": "XMLHttpRequest", "If-None-Match": '"0000000000000000"' },
  { "Pragma": "no-cache", "Accept-Language": "de" },
  { "X-Not-On-The-List": "1" }, // the control: Chromium must refuse it
];
const server = createServer((req, res) => {
  res.writeHead(200, { "Content-Type": "text/html" });
  res.end("<!doctype html><title>another origin</title>");
});
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const page_origin = "http://127.0.0.1:" + server.address().port;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  // no sandbox as root; no background traffic on a machine without internet
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"],
});
try {
  const page = await browser.newPage();
  const console_errors = []; // Chromium says there why it refused a response
  page.on("console", (m) => { if (m.type() === "error") console_errors.push(m.text()); });
  await page.goto(page_origin + "/cors-page.html", { waitUntil: "load", timeout: 30000 });
  for (const headers of cases) {
    const result = await page.evaluate(async ([target, h]) => {
      try {
        const r = await fetch(target, { headers: h, mode: "cors" });
        await r.text();
        return { status: r.status, error: null };
      } catch (e) {
        return { status: null, error: String(e) };
      }
    }, [url, headers]);
    console.log(JSON.stringify({ headers, ...result, console: console_errors.splice(0) }));
  }
} finally {
  await browser.close();
  server.close();
}
