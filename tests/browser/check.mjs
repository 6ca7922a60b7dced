// Loads one feedloom page in headless Chromium as a person would, at a
// desktop and a phone width, and prints what it saw as one JSON object:
// the item titles in the rendered DOM, console errors, page errors,
// requests that left the page's origin, dialogs opened, whether any
// script ran, and the screenshots it took. tests/page.rs judges it.
//
// node check.mjs URL SCREENSHOT_PREFIX
import { chromium } from "playwright-core";

const [url, shots] = process.argv.slice(2);
const origin = new URL(url).origin;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  // As root in a container Chromium needs its sandbox off.
  args: ["--no-sandbox", "--disable-dev-shm-usage"],
});
const widths = [
  { name: "desktop", viewport: { width: 1280, height: 900 }, isMobile: false },
  { name: "phone", viewport: { width: 390, height: 844 }, isMobile: true },
];
const report = { views: [] };
for (const w of widths) {
  const context = await browser.newContext({
    viewport: w.viewport,
    isMobile: w.isMobile,
    colorScheme: w.isMobile ? "dark" : "light",
  });
  // Set before any page script could run: a hostile item that runs code
  // flips it.
  await context.addInitScript(() => {
    window.__feedloomScriptRan = false;
  });
  const page = await context.newPage();
  const view = {
    name: w.name,
    console_errors: [],
    page_errors: [],
    foreign_requests: [],
    dialogs: [],
  };
  page.on("console", (m) => {
    if (m.type() === "error") view.console_errors.push(m.text());
  });
  page.on("pageerror", (e) => view.page_errors.push(String(e)));
  page.on("request", (r) => {
    const u = r.url();
    if (u.startsWith("data:")) return;
    if (new URL(u).origin !== origin) view.foreign_requests.push(u);
  });
  page.on("dialog", async (d) => {
    view.dialogs.push(d.message());
    await d.dismiss();
  });
  const response = await page.goto(url, { waitUntil: "networkidle" });
  view.status = response.status();
  view.content_type = response.headers()["content-type"];
  view.titles = await page.$$eval("article h3", (hs) => hs.map((h) => h.textContent.trim()));
  view.lang = await page.evaluate(() => document.documentElement.lang);
  view.alternates = await page.$$eval('link[rel="alternate"]', (ls) =>
    ls.map((l) => ({ type: l.type, href: l.href })),
  );
  view.headings = await page.$$eval("h1, h2, h3, h4, h5, h6", (hs) => hs.map((h) => Number(h.tagName[1])));
  view.scripts = await page.$$eval("script", (s) => s.length);
  view.flag = await page.evaluate(() => window.__feedloomScriptRan);
  view.pwned = await page.evaluate(() => typeof window.__pwned !== "undefined");
  view.scroll_width = await page.evaluate(() => document.documentElement.scrollWidth);
  view.audio = await page.$$eval("audio", (a) => a.length);
  view.video = await page.$$eval("video", (v) => v.length);
  view.screenshot = `${shots}-${w.name}.png`;
  await page.screenshot({ path: view.screenshot, fullPage: true });
  report.views.push(view);
  await context.close();
}
await browser.close();
console.log(JSON.stringify(report));
