// /dashboard is served by the gateway: a shell page with a strict CSP and no cookie, its script and
// styles from this origin; the script keeps the credential in sessionStorage only and calls the
// public API. (The browser test is test/e2e/dashboard.browser.e2e.test.ts.)
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

describe("GET /dashboard", () => {
  it("serves the shell with a strict CSP, no cookie, and only local assets", async () => {
    const res = await exports.default.fetch("http://gateway.test/dashboard");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/html");
    expect(res.headers.get("set-cookie")).toBeNull();
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    const html = await res.text();
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1] ?? "").filter((s) => !s.startsWith("data:"));
    expect(assets.sort()).toEqual(["/dashboard/app.css", "/dashboard/app.js"]);
    for (const a of assets) expect((await exports.default.fetch(`http://gateway.test${a}`)).status, a).toBe(200);
  });

  it("its script signs in with a field labelled 'API key or token' kept in sessionStorage, never a cookie or localStorage", async () => {
    const res = await exports.default.fetch("http://gateway.test/dashboard/app.js");
    expect(res.headers.get("content-type")).toContain("javascript");
    const js = await res.text();
    expect(js).toContain("API key or token");
    expect(js).toContain("sessionStorage");
    expect(js).not.toContain("localStorage");
    expect(js).not.toContain("document.cookie");
    expect(js).not.toContain("innerHTML");
    expect(js).toContain('"/v1/refunds"');
  });

  it("its script asks the API at sign-in what the credential may do (GET /v1/credential) instead of assuming an API key may do everything", async () => {
    const js = await (await exports.default.fetch("http://gateway.test/dashboard/app.js")).text();
    expect(js).toContain('fetch("/v1/credential"');
    // A key whose permissions are not known is offered nothing; none is given every permission on sight but a secret key.
    expect(js).not.toMatch(/perms: all\b/);
    expect(js).toContain('candidate.indexOf("sk_") === 0 ? ALL');
  });

  it("a payment's timeline keeps each time on one line (it broke into three at 375 px)", async () => {
    const js = await (await exports.default.fetch("http://gateway.test/dashboard/app.js")).text();
    expect(js).toContain('["When", function (t) { return when(t.at); }, "nowrap"]');
  });

  it("an endpoint's deliveries page has a 'Replay a range' form (From, To, Failed only / All) calling the replay route, for webhooks.manage", async () => {
    const js = await (await exports.default.fetch("http://gateway.test/dashboard/app.js")).text();
    expect(js).toContain("Replay a range");
    for (const label of ['for: "replay-from", text: "From"', 'for: "replay-to", text: "To"', 'text: "Failed only"', 'text: "All"']) expect(js).toContain(label);
    expect(js.match(/type: "datetime-local"/g)).toHaveLength(2);
    expect(js).toContain('"/replay"');
    expect(js).toContain('can("webhooks.manage") ? replayForm(id, ');
  });

  it("every table is wrapped in an area that scrolls sideways (overflow-x:auto), so on a phone the page itself never does", async () => {
    const css = await (await exports.default.fetch("http://gateway.test/dashboard/app.css")).text();
    expect(css).toMatch(/\.table-wrap\{overflow-x:auto;max-width:100%/);
    // Long ids in headings and facts break rather than widen the page.
    expect(css).toContain("h1,h2,dd,#flash{overflow-wrap:break-word}");
    const js = await (await exports.default.fetch("http://gateway.test/dashboard/app.js")).text();
    expect(js).toContain('var wrap = el("div", { class: "table-wrap" }, el("table", null,');
    expect(js.match(/el\("table"/g)).toHaveLength(1);
  });

  it("long unbroken values wrap: errors, the status line and the question anywhere, long table cells within a width; a row's buttons stay on one line; a heading focused by the page draws no ring but for the keyboard", async () => {
    const css = await (await exports.default.fetch("http://gateway.test/dashboard/app.css")).text();
    expect(css).toContain(".error,#flash,.confirm p{overflow-wrap:anywhere}");
    expect(css).toMatch(/td \.long\{display:block;min-width:[\d.]+rem;max-width:[\d.]+rem;overflow-wrap:anywhere\}/);
    expect(css).toContain("td.acts,td.id,td.nowrap{white-space:nowrap}");
    expect(css).toContain("h1:focus:not(:focus-visible)");
    expect(css).not.toMatch(/h1:focus\{outline:none/);
    const js = await (await exports.default.fetch("http://gateway.test/dashboard/app.js")).text();
    // Customers' names and emails, webhook URLs.
    expect(js).toContain('["Name", function (c) { return c.name; }, "long"]');
    expect(js).toContain('["URL", function (w) { return w.url; }, "long"]');
  });

  it("follows the browser's colour scheme (a dark palette under prefers-color-scheme: dark), and a list's rows open their page through a real link, not a focusable row", async () => {
    const css = await (await exports.default.fetch("http://gateway.test/dashboard/app.css")).text();
    expect(css).toContain(":root{color-scheme:light dark}");
    const dark = css.slice(css.indexOf("@media (prefers-color-scheme:dark){"));
    expect(dark.length).toBeLessThan(css.length);
    for (const surface of ["body{", "header{", "nav{", "table,.card,.signin,.secret-box{", ".confirm{", "input,select,textarea{", "button{", ".hint,", ".error,", "#flash.ok{", "a,", ".bar{", ".charts .point.good{"]) expect(dark, surface).toContain(surface);
    const js = await (await exports.default.fetch("http://gateway.test/dashboard/app.js")).text();
    expect(js).toContain('el("a", { href: href, class: "row-link" }, content)');
    expect(js).not.toMatch(/tr\.tabIndex|tr\.onkeydown/);
    // A column of buttons has no visible heading, but a screen reader hears "Actions".
    expect(js).toContain('el("span", { class: "sr-only", text: "Actions" })');
    expect(css).toMatch(/\.sr-only\{position:absolute;width:1px;height:1px;[^}]*clip:rect\(0,0,0,0\)/);
  });

  it("sizes text relative to the browser's setting (no px font sizes), lets the header wrap and the merchant field shrink, and the charts shrink to the page; small links get room to be 24 px targets", async () => {
    const css = await (await exports.default.fetch("http://gateway.test/dashboard/app.css")).text();
    expect(css).toMatch(/body\{margin:0;font:[\d.]+rem\/1\.45 /);
    expect(css).not.toMatch(/font(-size)?:\s*[\d.]+px/);
    expect(css).toMatch(/header\{display:flex;flex-wrap:wrap;/);
    expect(css).toContain("nav input{width:min(14rem,100%)}");
    expect(css).toContain(".charts svg{display:block;max-width:100%;height:auto}");
    expect(css).toMatch(/nav a\{display:inline-block;padding:[^}]+\}a\.row-link\{display:inline-block;padding:[^}]+\}/);
    const js = await (await exports.default.fetch("http://gateway.test/dashboard/app.js")).text();
    // The tab's title follows the page (and says Error first); each row's buttons have names of their own.
    expect(js).toContain('document.title = (main.querySelector(".error[role=alert]:not(:empty)") ? "Error: " : "") + (name ? name + " – " : "") + "Dashboard";');
    for (const name of ['name: "Retry " + p.id + " (" + amount + ")"', 'name: "Approve " + r.id + " (" + amount + ")"', 'name: "Reject " + r.id + " (" + amount + ")"', 'name: "Roll secret of " + w.id', '"Resend " + d.id)', '"Resend " + e.id)']) expect(js, name).toContain(name);
  });
});
