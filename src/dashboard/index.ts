// /dashboard: the operators' and merchants' web app. The page is a shell; its script
// (app.client.js, imported as text through wrangler.toml's [[rules]]) signs in with an API key or a
// JWT kept in sessionStorage and calls the public API for everything, so the API's permissions hold.
// No cookie is set; the strict CSP allows only this origin's script and API.
import type { OpenAPIHono } from "@hono/zod-openapi";
import { z } from "zod";
import type { Env } from "../env";
import { documentPath } from "../docs/openapi";
import { currencyExponents } from "../core/money";
import clientScript from "./app.client.js";

/** The client script, with the gateway's minor-unit digits of every currency (amounts are shown as the API counts them). */
const script = clientScript.replace("/*GATEWAY_EXPONENTS*/{}", JSON.stringify(currencyExponents()));

const CSS = `
:root{color-scheme:light dark}
*{box-sizing:border-box}th{position:relative}.sr-only{position:absolute;width:1px;height:1px;padding:0;margin:-1px;overflow:hidden;clip:rect(0,0,0,0);white-space:nowrap;border:0}body{margin:0;font:.9375rem/1.45 system-ui,sans-serif;color:#1a1f36;background:#f6f8fa}
/* Sizes are relative (rem, %): the text follows the browser's font size, and with text at 200% the header wraps instead of overflowing a phone. */
header{display:flex;flex-wrap:wrap;gap:.4rem 1rem;align-items:center;justify-content:space-between;padding:.6rem 1rem;background:#1a1f36;color:#fff}
header strong{font-size:1.05rem}#who{display:flex;flex-wrap:wrap;align-items:center;gap:.3rem .5rem;min-width:0;max-width:100%}#who-text{overflow-wrap:anywhere;min-width:0}#who button{margin:0}
nav{display:flex;flex-wrap:wrap;gap:.2rem .9rem;align-items:center;padding:.5rem 1rem;background:#fff;border-bottom:1px solid #e3e8ee}
nav a{color:#3c4257;text-decoration:none}nav a.current{color:#635bff;font-weight:600}nav input{width:min(14rem,100%)}nav label{max-width:100%}
/* Targets at least 24 px (WCAG 2.5.8): the page links, a row's link, the filter's links ("All" alone was 19 px wide). */
nav a{display:inline-block;padding:.2rem 0}a.row-link{display:inline-block;padding:.25rem 0}.choices a{display:inline-block;min-width:1.6rem;padding:.2rem .1rem;text-align:center}
main{padding:1rem;max-width:80rem}table{border-collapse:collapse;width:100%;background:#fff;margin:.5rem 0}
.table-wrap{overflow-x:auto;max-width:100%;margin:.5rem 0}.table-wrap table{margin:0}.table-wrap:focus-visible{outline:2px solid #0a58ca;outline-offset:2px}
h1,h2,dd,#flash{overflow-wrap:break-word}
/* Long unbroken values (an id in an error, a 200-character name, a webhook URL) wrap instead of widening the page or the table. */
.error,#flash,.confirm p{overflow-wrap:anywhere}
td .long{display:block;min-width:8rem;max-width:22rem;overflow-wrap:anywhere}
/* A row's buttons stay on one line; on a failed payment's row they come first, the id next to them wraps rather than leaving the screen. */
td.acts,td.id,td.nowrap{white-space:nowrap}td.acts button{margin:.1rem .15rem;padding:.2rem .55rem}td.wrap-id{overflow-wrap:anywhere;min-width:6rem}td.wide-id{min-width:10.5rem}td.id.wrap-id{white-space:normal}
@media (max-width:40rem){td.id{white-space:normal;overflow-wrap:anywhere;min-width:6.5rem}}
/* The heading takes the focus after a page change or an action (for screen readers): no ring for that, a ring for the keyboard. */
.error-ways a{margin-left:.6rem;color:#5851eb}input[aria-invalid=true]{border-color:#b42318;outline-color:#b42318}
h1:focus:not(:focus-visible),#page-error:focus:not(:focus-visible),#flash:focus:not(:focus-visible){outline:none}
th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid #e3e8ee;font-size:.9rem}
/* A row that opens a page: its link (first cell) takes the focus, not the row; the row is highlighted under the mouse or while its link or a button in it has the focus. */
a{color:#5851eb}tr.link{cursor:pointer}tr.link:hover,tr.link:focus-within{background:#f0f3ff}
button{font:inherit;padding:.25rem .7rem;margin:.1rem .2rem;border:1px solid #635bff;background:#635bff;color:#fff;border-radius:4px;cursor:pointer}
input,select{font:inherit;padding:.25rem .4rem;border:1px solid #c1c9d2;border-radius:4px}
.filters,.inline{display:flex;gap:.6rem;align-items:center;flex-wrap:wrap;margin:.5rem 0}.actions{margin:.8rem 0}
.facts{display:grid;grid-template-columns:8rem minmax(0,1fr);gap:.2rem .8rem}.facts dt{color:#5e6a7d}.facts dd{margin:0}
.signin{max-width:26rem;margin:3rem auto;background:#fff;padding:1.5rem;border-radius:8px;border:1px solid #e3e8ee;display:grid;gap:.6rem}
/* Secondary text (hints, labels of facts, captions) is #5e6a7d and links on the page's grey #5851eb: at least 4.5:1 on every background here (#f6f8fa, #fff, #fff8e6).
   Contrast (WCAG 2, normal text needs 4.5:1), light: text #1a1f36 15.25 on #f6f8fa, 16.24 on #fff, 15.33 on #fff8e6, 14.67 on a hovered row #f0f3ff;
   hint #5e6a7d 5.15 / 5.48 / 5.17 / 4.95; link #5851eb 5.20 / 5.54 / 5.23 / 5.00; error #b42318 6.18 / 6.57 / 6.21; ok #0e6245 6.92 on #f6f8fa;
   nav #3c4257 9.96 and current #635bff 4.70 on #fff; header #fff on #1a1f36 16.24; button #fff on #635bff 4.70.
   Dark (below): text #e6e8ee 15.42 on #0f1115, 14.07 on #181b22, 12.60 on the question's #2a2414, 11.52 on a hovered row #232a45, 13.20 on the header #1c2030;
   hint #9aa4b5 7.51 / 6.85 / 6.14 / 5.61; link #aba6ff 8.67 / 7.90 / 7.08 / 6.47; error #ff9b8f 9.30 / 8.48 / 7.60; ok #6fdcaf 11.28 on #0f1115;
   nav #c9cfdb 11.02 and current #aba6ff 7.90 on #181b22; header #fff on #1c2030 16.17; button #fff on #5b53f0 5.33; field #e6e8ee on #1f232c 12.84, placeholder #8f98a8 5.41. */
.hint{color:#5e6a7d;font-size:.85rem;overflow-wrap:anywhere}.error{color:#b42318}#flash.ok{color:#0e6245}#flash.error{color:#b42318}#flash{padding:0 1rem;margin:.6rem 0 0}
/* The status line stays in the page (a live region: a message put in it is read out) but takes no space while empty. */
#flash:empty{margin:0;padding:0}
.card{background:#fff;border:1px solid #e3e8ee;border-radius:6px;padding:.6rem 1rem;margin:.6rem 0}.card h2{font-size:1rem;margin:.2rem 0}
.charts{display:flex;gap:0 1.5rem;flex-wrap:wrap}.charts figure{margin:.5rem 0;min-width:0;max-width:100%}.charts svg{display:block;max-width:100%;height:auto}.charts figcaption{color:#5e6a7d;font-size:.8rem}
.chart-values summary{cursor:pointer;color:#5851eb;padding:.2rem 0}.chart-values .table-wrap{max-width:32rem}
.confirm{background:#fff8e6;border:1px solid #f0c36d;border-radius:6px;padding:.4rem .8rem;margin:.6rem 0;max-width:40rem}.confirm p{margin:.2rem 0 .4rem;overflow-wrap:break-word}
.confirm-fields{display:flex;flex-wrap:wrap;gap:.3rem .6rem;align-items:center;margin:.3rem 0 .5rem}.confirm-fields input[type=text]{flex:1 1 14rem;min-width:0;max-width:100%}
.confirm-fields .error{flex-basis:100%;margin:0}.confirm-fields .error:empty{display:none}.check{display:flex;gap:.35rem;align-items:center}
.secret-box{background:#fff;border:2px solid #635bff;border-radius:6px;padding:.6rem 1rem;margin:.6rem 0;max-width:40rem}.secret-box h2{font-size:1rem;margin:.2rem 0 .4rem}
.secret-value{display:block;width:100%;font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.9rem;margin:.2rem 0;resize:none;field-sizing:content;min-height:2rem;word-break:break-all;border:1px solid #c1c9d2;border-radius:4px;padding:.3rem .4rem}
td .captured{display:block;color:#5e6a7d;font-size:.85rem}
.choices{padding:.2rem 0;background:none;border:0;gap:.2rem .9rem}.choices a{color:#5851eb}.choices a[aria-current]{color:#1a1f36;font-weight:600;text-decoration:none}
.filters label{max-width:100%}.filters select,.filters input{max-width:100%}
.pager{padding:.4rem 0;background:none;border:0}.pager a{color:#5851eb;text-decoration:underline}
.bar{height:.7rem;background:#fde2e1;border-radius:4px;overflow:hidden}.bar.unknown{background:#e3e8ee}.bar span{display:block;height:100%;background:#2d9d78}
/* Dark mode, as the shopper pages: every surface, with the contrasts listed above. */
@media (prefers-color-scheme:dark){
body{color:#e6e8ee;background:#0f1115}header{background:#1c2030;border-bottom:1px solid #2f3542}
nav{background:#181b22;border-color:#2f3542}nav a{color:#c9cfdb}nav a.current{color:#aba6ff}
table,.card,.signin,.secret-box{background:#181b22}.card,.signin{border-color:#2f3542}th,td{border-color:#2f3542}
tr.link:hover,tr.link:focus-within{background:#232a45}
a,.error-ways a,.choices a,.pager a,.chart-values summary{color:#aba6ff}.choices a[aria-current]{color:#e6e8ee}
button{background:#5b53f0;border-color:#8a84ff;color:#fff}
input,select,textarea{background:#1f232c;color:#e6e8ee;border-color:#6b7385}input::placeholder,textarea::placeholder{color:#8f98a8}
input[aria-invalid=true]{border-color:#ff9b8f;outline-color:#ff9b8f}
.hint,.facts dt,.charts figcaption,td .captured{color:#9aa4b5}
.error,#flash.error{color:#ff9b8f}#flash.ok{color:#6fdcaf}
.confirm{background:#2a2414;border-color:#8a6a22}.secret-box{border-color:#8a84ff}
.bar{background:#4a2322}.bar.unknown{background:#2f3542}.bar span{background:#3fb68b}
.charts .chart-bg{fill:#0f1115}.charts .point.good{fill:#3fb68b}.charts .point.low{fill:#ff6b73}.charts .point-mark{stroke:#ff9b8f}.charts .chart-line{stroke:#aba6ff}.charts .chart-dot{fill:#aba6ff}
}
`;

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Dashboard: edge payment gateway</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/dashboard/app.css">
</head>
<body>
<header><strong>Payment gateway dashboard</strong><span id="who"></span></header>
<nav id="nav" aria-label="Pages"></nav>
<p id="flash" role="status"></p>
<main id="main"><noscript>The dashboard needs JavaScript.</noscript></main>
<script src="/dashboard/app.js"></script>
</body>
</html>`;

const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

export function registerDashboard<E extends { Bindings: Env }>(app: OpenAPIHono<E>): void {
  app.get("/dashboard", (c) => c.html(PAGE, 200, { "Content-Security-Policy": CSP, "Cache-Control": "no-store", "Referrer-Policy": "no-referrer" }));
  app.get("/dashboard/app.js", (c) => c.body(script, 200, { "Content-Type": "text/javascript; charset=utf-8", "Cache-Control": "no-cache" }));
  app.get("/dashboard/app.css", (c) => c.body(CSS, 200, { "Content-Type": "text/css; charset=utf-8", "Cache-Control": "no-cache" }));

  const tags = ["Gateway"];
  const security: [] = [];
  const text = (type: string) => ({ 200: { description: "OK", content: { [type]: { schema: z.string().meta({ example: "..." }) } } } });
  documentPath(app, { method: "get", path: "/dashboard", summary: "The dashboard (HTML): signs in with an API key or token and uses this API", tags, security, responses: text("text/html") });
  documentPath(app, { method: "get", path: "/dashboard/app.js", summary: "The dashboard's script", tags, security, responses: text("text/javascript") });
  documentPath(app, { method: "get", path: "/dashboard/app.css", summary: "The dashboard's styles", tags, security, responses: text("text/css") });
}
