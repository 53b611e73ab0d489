// The dashboard's browser code, served at /dashboard/app.js. Every call goes to the public API with
// the credential typed at sign-in (kept in sessionStorage for this tab only, and only once the API
// accepted it; a 401 later forgets it and asks again), so the API's own permissions decide what works;
// links and buttons a credential cannot use are not shown (what it may do is asked of the API at sign-in),
// actions that move money ask to confirm the amount first, and those that cannot be undone ask too.
// Data is put into the page with textContent only (no HTML from the API is ever parsed).
(function () {
  "use strict";
  var KEY = "gateway.dashboard.credential";
  var MERCHANT = "gateway.dashboard.merchant";
  // What the API said at sign-in the credential is and may do: { kind, roles, permissions, crossMerchant }.
  var KNOWN = "gateway.dashboard.principal";
  var ALL = ["payments.transactions.create", "payments.transactions.void", "payments.transactions.view", "payments.methods.manage", "payments.methods.view", "refunds.approve", "webhooks.manage", "keys.manage", "billing.view", "billing.manage"];
  var ROLE_PERMISSIONS = { admin: ALL, merchant: ALL, support: ["payments.transactions.view", "payments.methods.view", "billing.view"], customer: ["payments.transactions.create", "payments.transactions.view", "payments.methods.view"] };
  var main = document.getElementById("main");
  var nav = document.getElementById("nav");
  var who = document.getElementById("who");

  function credential() { return sessionStorage.getItem(KEY); }
  function isJwt(c) { return String(c || "").split(".").length === 3; }
  function claimsOf(c) {
    if (!isJwt(c)) return null;
    try { return JSON.parse(atob(c.split(".")[1].replace(/-/g, "+").replace(/_/g, "/"))); } catch (e) { return null; /* not a JWT after all */ }
  }
  function known() {
    try { return JSON.parse(sessionStorage.getItem(KNOWN) || "null"); } catch (e) { return null; }
  }
  function setOf(list) {
    var set = {};
    (list || []).forEach(function (p) { set[p] = true; });
    return set;
  }

  /** What the credential may do: as the API said at sign-in, else as its token's claims say (the API decides in the end). */
  function principal() {
    var c = credential() || "";
    var claims = claimsOf(c);
    var roles = claims && Array.isArray(claims.roles) ? claims.roles : [];
    var label = claims ? "token (" + roles.join(", ") + (claims.sub ? ", " + claims.sub : "") + ")" : c.indexOf("rk_") === 0 ? "restricted key" : "secret key";
    var k = known();
    if (k) return { label: label, kind: k.kind, actor: k.actor || null, roles: k.roles || [], perms: setOf(k.permissions), crossMerchant: !!k.crossMerchant };
    if (claims) {
      var perms = {};
      roles.forEach(function (r) { (ROLE_PERMISSIONS[r] || []).forEach(function (p) { perms[p] = true; }); });
      if (Array.isArray(claims.permissions)) {
        var named = {};
        claims.permissions.forEach(function (p) { if (perms[p]) named[p] = true; });
        perms = named;
      }
      return { label: label, kind: "jwt", roles: roles, perms: perms, crossMerchant: roles.indexOf("admin") >= 0 || roles.indexOf("support") >= 0 };
    }
    // A key whose permissions are not known (yet): nothing is offered.
    return { label: label, kind: "api_key", roles: ["merchant"], perms: {}, crossMerchant: false };
  }
  function can(p) { return !!principal().perms[p]; }
  /** Whether two actors name one person, as the API decides it for four eyes (case and width aside). */
  function samePerson(a, b) {
    var person = function (actor) { return String(actor).normalize("NFKC").replace(/[\s\p{Cf}]/gu, "").toLowerCase(); };
    return person(a) === person(b);
  }

  // Explicit direction controls (embeddings, overrides, isolates) in a merchant's or shopper's text
  // would reverse what follows them in a cell (a name "\u202E01 x" reads "x 10"): dropped from every
  // text shown, as the hosted pages drop them. Right-to-left text itself is kept.
  var BIDI_CONTROLS = /[\u202A-\u202E\u2066-\u2069]/g;
  function shown(text) { return String(text).replace(BIDI_CONTROLS, ""); }

  function el(tag, attrs) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k] === null || attrs[k] === undefined ? "" : shown(attrs[k]);
      else if (k === "onclick" || k === "onsubmit" || k === "onchange" || k === "onkeydown") node[k] = attrs[k];
      else if (k === "style") node.style.cssText = attrs[k]; // CSSOM: allowed by the page's CSP, unlike a style attribute
      else node.setAttribute(k, attrs[k]);
    });
    function add(child) {
      if (child === null || child === undefined || child === false) return;
      if (Array.isArray(child)) return child.forEach(add);
      node.appendChild(typeof child === "string" ? document.createTextNode(shown(child)) : child);
    }
    for (var i = 2; i < arguments.length; i++) add(arguments[i]);
    return node;
  }
  // Minor units shown in the currency's decimals as the gateway counts them (JPY none, HUF two, KWD three:
  // its table, put here by the server; the browser's own ISO data differs for HUF, IQD and others), by digits (no float division).
  var EXPONENTS = /*GATEWAY_EXPONENTS*/{};
  function digitsOf(currency) {
    var known = EXPONENTS[String(currency).toLowerCase()];
    if (typeof known === "number") return known;
    try { return new Intl.NumberFormat("en", { style: "currency", currency: currency }).resolvedOptions().maximumFractionDigits; } catch (e) { return 2; }
  }
  /** Minor units in the currency's decimals ("1234.50"), digit by digit; `grouped` puts a comma between thousands ("1,234.50"). */
  function decimalText(amount, currency, grouped) {
    var d = digitsOf(String(currency || "").toUpperCase());
    var digits = String(Math.abs(amount)).padStart(d + 1, "0");
    var whole = digits.slice(0, digits.length - d);
    if (grouped) whole = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return (amount < 0 ? "-" : "") + whole + (d > 0 ? "." + digits.slice(digits.length - d) : "");
  }
  function money(amount, currency) {
    if (typeof amount !== "number") return "";
    return decimalText(amount, currency, true) + " " + String(currency || "").toUpperCase();
  }
  /**
   * An amount typed in the currency's decimals ("5.00" USD, "12.345" KWD, "500" JPY) in minor units, by
   * digits (no floating point): { minor } or { error } in words. More decimals than the currency has are refused.
   */
  function minorOf(text, currency) {
    var code = String(currency || "").toUpperCase();
    var d = digitsOf(code);
    var t = String(text || "").trim();
    // Thousands as the dashboard shows them ("1,234.50") are taken; any other comma is not.
    if (/^\d{1,3}(,\d{3})+(\.\d*)?$/.test(t)) t = t.replace(/,/g, "");
    var m = /^(\d*)(?:\.(\d*))?$/.exec(t);
    if (!t || !m || (m[1] === "" && !m[2])) return { error: "Type the amount as a number in " + code + (d ? ", e.g. " + money(Math.pow(10, d) * 5, code) : ", e.g. 500 " + code) + "." };
    var fraction = m[2] || "";
    if (fraction.length > d) return { error: d === 0 ? code + " has no decimals: type a whole amount, e.g. " + (m[1] || "0") + " " + code + "." : code + " has " + d + " decimal" + (d === 1 ? "" : "s") + ": " + t + " has " + fraction.length + "." };
    var digits = ((m[1] || "") + fraction.padEnd(d, "0")).replace(/^0+/, "");
    if (digits.length > 15) return { error: "The amount is too large." };
    var minor = digits ? Number(digits) : 0;
    if (minor <= 0) return { error: "The amount must be more than " + money(0, code) + "." };
    return { minor: minor };
  }
  /** Minor units as the text of an amount field: the currency's decimals, no currency code. */
  function decimalOf(amount, currency) { return decimalText(amount, currency, false); }
  function when(ts) { return typeof ts === "number" ? new Date(ts * 1000).toISOString().replace("T", " ").slice(0, 19) : ""; }

  /** How long a Retry-After header (seconds, or an HTTP date) says to wait: "9 s", or "a moment" without one. */
  function waitWords(header) {
    var text = String(header || "").trim();
    var wait = /^\d+$/.test(text) ? parseInt(text, 10) : Math.ceil((Date.parse(text) - Date.now()) / 1000);
    return wait >= 0 ? wait + " s" : "a moment";
  }

  function newKey() { return "dashboard-" + Date.now() + "-" + Math.random().toString(36).slice(2); }
  /** The API's error as an Error, with its HTTP status. */
  function errorOf(res, json) {
    var message = (json.error && json.error.message) || json.detail || json.message || "HTTP " + res.status;
    // Too many requests: how long to wait, as the API's Retry-After says (seconds, or a date).
    if (res.status === 429) message = message.replace(/\.?$/, ".") + " Try again in " + waitWords(res.headers.get("Retry-After")) + ".";
    var error = new Error(message);
    error.status = res.status;
    error.code = json.error && json.error.code;
    error.body = json;
    return error;
  }
  // `key`: the Idempotency-Key of one action as the page shows it, so a second click replays the first request.
  async function api(method, path, body, merchant, key) {
    var headers = { Authorization: "Bearer " + credential(), Accept: "application/json" };
    var m = merchant || sessionStorage.getItem(MERCHANT);
    if (m && principal().crossMerchant) headers["Merchant-Id"] = m;
    if (body) headers["Content-Type"] = "application/json";
    if (method === "POST") headers["Idempotency-Key"] = key || newKey();
    var res;
    try {
      res = await fetch(path, { method: method, headers: headers, body: body ? JSON.stringify(body) : undefined, credentials: "omit" });
    } catch (e) {
      // No answer (the network failed, or the answer was lost): an action may have been made or not. Its
      // key is kept (keyed), so confirming again sends the same request, which the API answers as the
      // first: it never acts twice.
      throw new Error(method === "POST"
        ? "No answer from the gateway (" + e.message + "), so it is not known whether this was done. Confirming again is safe: it sends the same request, and the gateway answers it as the first without doing it twice."
        : "No answer from the gateway (" + e.message + "). Try again.");
    }
    var json = await res.json().catch(function () { return {}; });
    if (res.status === 401) {
      // The credential is not (or no longer) accepted: forget it and ask for another.
      var refused = errorOf(res, json);
      signOut("Signed out: the API does not accept this key or token (" + refused.message + ").", true);
      refused.signedOut = true;
      throw refused;
    }
    if (!res.ok) throw errorOf(res, json);
    return json;
  }

  /**
   * Why the API's answer to a sign-in check (`res`, its body `json`) signs nothing in, or null when it
   * does not say (a 2xx, or a 404 of a gateway without the route): `refused` when the API refuses the
   * credential itself (401). A 429 (too many attempts) and a 5xx checked nothing: they say so and keep nothing.
   */
  function checkRefusal(res, json) {
    if (res.status === 401) return { why: errorOf(res, json).message, refused: true };
    if (res.status === 429) return { why: "Too many attempts, try again in " + waitWords(res.headers.get("Retry-After")) + "." };
    if (res.status >= 500) return { why: "the gateway could not check the credential (a server error, HTTP " + res.status + "). Try again in a moment." };
    return null;
  }

  /**
   * Who the API says `candidate` is, kept in KNOWN: GET /v1/credential answers its kind (a person's
   * token or an API key), roles and permissions (a restricted key's are in its record on the server,
   * not in the key). A gateway that does not serve that route (404): GET /v1/account tells whether the
   * credential is accepted; a secret key holds every merchant permission, a restricted key is offered
   * viewing payments at most, and a token is read from its claims. Only a 2xx signs in. Resolves to null
   * once accepted, else to { why, refused } (refused: the API refuses the credential, a 401; otherwise
   * nothing was checked: too many attempts, a server error, an answer that is not an acceptance).
   */
  async function identify(candidate) {
    var headers = { Authorization: "Bearer " + candidate, Accept: "application/json" };
    sessionStorage.removeItem(KNOWN);
    var res = await fetch("/v1/credential", { headers: headers, credentials: "omit" });
    var json = await res.json().catch(function () { return {}; });
    var refusal = checkRefusal(res, json);
    if (refusal) return refusal;
    // A customer's token (a shopper's, seed 001's least power) may only use its own payments through the
    // payment intent routes: every page here but Payments would say "Not allowed". Not signed in, saying why.
    if (res.ok && typeof json.customer === "string" && json.customer !== "") {
      return { why: "this is a customer's token (" + json.customer + "): the dashboard is for a merchant's staff and the gateway's operators. A customer pays and follows a payment on its payment page." };
    }
    if (res.ok && Array.isArray(json.permissions)) {
      sessionStorage.setItem(KNOWN, JSON.stringify({ kind: json.kind === "jwt" ? "jwt" : "api_key", actor: typeof json.actor === "string" ? json.actor : null, roles: Array.isArray(json.roles) ? json.roles : [], permissions: json.permissions, crossMerchant: json.cross_merchant === true }));
      return null;
    }
    if (res.ok || res.status === 404) {
      res = await fetch("/v1/account", { headers: headers, credentials: "omit" });
      json = await res.json().catch(function () { return {}; });
      refusal = checkRefusal(res, json);
      if (refusal) return refusal;
    }
    if (!res.ok) {
      var said = errorOf(res, json).message;
      return { why: "the gateway did not accept the credential (HTTP " + res.status + (said !== "HTTP " + res.status ? ": " + said : "") + ")." };
    }
    if (!isJwt(candidate)) {
      var permissions = candidate.indexOf("sk_") === 0 ? ALL : ["payments.transactions.view"];
      sessionStorage.setItem(KNOWN, JSON.stringify({ kind: "api_key", roles: ["merchant"], permissions: permissions, crossMerchant: false }));
    }
    return null;
  }

  function flash(message, kind) {
    var box = document.getElementById("flash");
    box.textContent = message;
    box.className = kind || "";
  }
  /**
   * One action at a time: while one runs, the page's buttons are disabled and further clicks do nothing.
   * `label` names the action and its object in the status line ("Resolve pi_...: done"); `o.done(result)`
   * and `o.failed(error)` word the outcome otherwise. Done, the page is shown again (the focus on its
   * heading); refused, the page stays as it is and the focus goes back to the open question, else to the
   * button that acted, else to the status line (never lost to the page's body). `o.reveal(result)`: a box
   * of what the answer shows only once (a new secret), put under the page's heading once the page is
   * shown again, with the focus in it; it lives in the page alone (never stored) and goes with the next page.
   */
  var acting = false;
  async function act(label, fn, o) {
    o = o || {};
    if (acting) return;
    acting = true;
    var from = document.activeElement;
    var buttons = Array.prototype.slice.call(document.querySelectorAll("main button"));
    buttons.forEach(function (b) { b.disabled = true; });
    var failure = null;
    try {
      var result = await fn();
      flash(o.done ? o.done(result) : label + ": done", "ok");
      var reveal = o.reveal ? o.reveal(result) : null;
      if (!reveal) route("heading");
      else {
        var at = location.hash;
        await route(null);
        if (location.hash === at) showOnce(reveal);
      }
    } catch (e) {
      failure = e;
      if (!e.signedOut) flash(o.failed ? o.failed(e) : label + ": " + e.message, "error");
    } finally {
      acting = false;
      buttons.forEach(function (b) { b.disabled = false; });
    }
    if (failure && !failure.signedOut) {
      var question = document.getElementById("confirm-question");
      var target = question && from && from.closest && from.closest(".confirm") ? question : from && from !== document.body && from.isConnected ? from : null;
      if (!target) {
        target = document.getElementById("flash");
        target.setAttribute("tabindex", "-1");
      }
      target.focus();
    }
  }

  /** A box of what is shown only once (`reveal.box`), under the page's heading, the focus on `reveal.focus`. */
  function showOnce(reveal) {
    var heading = main.querySelector("h1");
    if (heading && heading.parentNode === main) main.insertBefore(reveal.box, heading.nextSibling);
    else main.insertBefore(reveal.box, main.firstChild);
    reveal.focus.focus();
  }

  /**
   * A webhook endpoint's signing secret as the API answered it (rolled, or a new endpoint): shown once
   * in the page (never kept anywhere else: the API does not show it again), with `more` said after it
   * (when the old one stops working). The focus goes to the secret, selected.
   */
  function secretReveal(endpoint, secret, more) {
    // A text area, so that the whole secret shows, wrapped, on a phone too.
    var value = el("textarea", { id: "new-secret-value", rows: "1", readonly: "readonly", autocomplete: "off", spellcheck: "false", "aria-describedby": "new-secret-note", class: "secret-value" });
    value.value = secret;
    value.onfocus = function () { value.select(); };
    var told = el("span", { id: "new-secret-copied", class: "hint", role: "status" });
    var box = el("section", { id: "new-secret", class: "secret-box", "aria-labelledby": "new-secret-title" },
      el("h2", { id: "new-secret-title", text: "New signing secret of " + endpoint }),
      el("label", { for: "new-secret-value", text: "Signing secret" }), value,
      el("p", { id: "new-secret-note", text: "Shown only now: copy it into your webhook receiver's configuration. The gateway never shows it again, and it is gone from this page once you leave it." + (more ? " " + more : "") }),
      el("p", null,
        button("Copy", function () {
          value.focus();
          var failed = function () { told.textContent = "Copying failed: the secret is selected, press Ctrl+C (Cmd+C) to copy it."; };
          if (navigator.clipboard && navigator.clipboard.writeText) navigator.clipboard.writeText(secret).then(function () { told.textContent = "Copied."; }, failed);
          else failed();
        }),
        button("I have saved it", function () {
          box.remove();
          var heading = main.querySelector("h1");
          if (heading) {
            if (!heading.hasAttribute("tabindex")) heading.setAttribute("tabindex", "-1");
            heading.focus();
          }
        }),
        told));
    return { box: box, focus: value };
  }

  /**
   * `call(key)` with the Idempotency-Key of one confirmed action, kept in `store[name]`: while no answer
   * came (the network failed) it is kept, so that confirming again replays the same request instead of
   * acting twice; once the API answered (done or refused) it is dropped, so that the next confirmation
   * is a new attempt (a second retry after a decline is retried, not the first decline replayed).
   */
  function keyed(store, name, call) {
    var key = store[name] || (store[name] = newKey());
    return call(key).then(function (r) { if (store[name] === key) delete store[name]; return r; }, function (e) {
      if (e.status && store[name] === key) delete store[name];
      throw e;
    });
  }

  /**
   * A table of `rows`. A column is [heading, value of a row, the cell's class, true: the column holding the row's link].
   * `hrefOf(row)`: the address of the page a row opens (when its rows open one). The row's link is a real
   * link in its first cell (but a row's buttons), or in the column marked so: a screen reader reads it as a link,
   * the keyboard reaches it with Tab (the row itself takes no focus) and it opens in a new tab as any link does;
   * a plain click anywhere else in the row follows it too, but not one on the row's buttons, fields or other links.
   */
  function table(columns, rows, hrefOf) {
    var head = el("tr", null);
    // A column of buttons has no visible heading; a screen reader still hears what it holds.
    columns.forEach(function (c) { head.appendChild(c[0] ? el("th", { text: c[0] }) : el("th", null, el("span", { class: "sr-only", text: "Actions" }))); });
    var linkAt = -1;
    if (hrefOf) {
      columns.forEach(function (c, i) { if (c[3] === true && linkAt < 0) linkAt = i; });
      if (linkAt < 0) columns.some(function (c, i) { if (c[2] !== "acts") { linkAt = i; return true; } return false; });
    }
    var body = el("tbody", null);
    rows.forEach(function (r) {
      var tr = el("tr", null);
      var href = hrefOf ? hrefOf(r) : null;
      columns.forEach(function (c, i) {
        var v = c[1](r);
        // c[2]: the cell's class ("long": a long value that wraps within a width, "acts": buttons kept on one line).
        var text = v instanceof Node ? v : String(v === null || v === undefined ? "" : v);
        var content = c[2] === "long" && text ? el("span", { class: "long" }, text) : text;
        if (i === linkAt && href && text !== "") content = el("a", { href: href, class: "row-link" }, content);
        tr.appendChild(el("td", c[2] ? { class: c[2] } : null, content));
      });
      if (href) {
        tr.className = "link";
        tr.onclick = function (e) {
          // The link, a button, a field or another link in the row does its own thing; a click with a
          // modifier key is left to the link (open in a new tab); text being selected is not a click to open.
          var t = e.target instanceof Element ? e.target : e.target.parentElement;
          if (e.button !== 0 || e.ctrlKey || e.metaKey || e.shiftKey || e.altKey) return;
          if (t && t.closest("a, button, input, select, textarea, label")) return;
          if (window.getSelection && String(window.getSelection())) return;
          location.hash = href;
        };
      }
      body.appendChild(tr);
    });
    if (!rows.length) body.appendChild(el("tr", null, el("td", { colspan: String(columns.length), text: "Nothing here." })));
    // Wider than a phone: the table scrolls sideways inside its own area, the page never does.
    var wrap = el("div", { class: "table-wrap" }, el("table", null, el("thead", null, head), body));
    // An area that scrolls is reached with the keyboard too (Tab, then the arrow keys), named as a
    // region; one that does not scroll is no tab stop. Checked again whenever its width changes.
    if (window.ResizeObserver) new ResizeObserver(function () { scrollableByKeyboard(wrap); }).observe(wrap);
    return wrap;
  }
  function scrollableByKeyboard(wrap) {
    if (wrap.scrollWidth > wrap.clientWidth + 1) {
      wrap.setAttribute("tabindex", "0");
      wrap.setAttribute("role", "region");
      wrap.setAttribute("aria-label", "Table (scrolls sideways)");
    } else {
      wrap.removeAttribute("tabindex");
      wrap.removeAttribute("role");
      wrap.removeAttribute("aria-label");
    }
  }
  /** A button; `name`: its accessible name when the label alone is the same in every row ("Resend ewd_..."): it starts with the label, as seen. */
  function button(label, onclick, name) { return el("button", name ? { type: "button", onclick: onclick, text: label, "aria-label": name } : { type: "button", onclick: onclick, text: label }); }

  /**
   * The second step of an action that moves money or cannot be undone: what it will do, the amount
   * named, in `box`; only the first button acts, the other takes the question back (and the focus to
   * `opener`, the button that asked). The focus goes to the question, or to `extra.focus` when the
   * answer needs fields (`extra.nodes`, between the question and the buttons: a reason to type).
   */
  function confirmStep(box, question, yesLabel, noLabel, onYes, opener, extra) {
    box.textContent = "";
    var text = el("p", { id: "confirm-question", tabindex: "-1", text: question });
    var group;
    // Escape takes the question back, as its second button does, wherever the focus went meanwhile
    // (past its buttons, or back to the field that asked): the question is open until answered.
    function onEscape(e) {
      if (!group.isConnected) { document.removeEventListener("keydown", onEscape); return; }
      if (e.key === "Escape" || e.key === "Esc") { e.preventDefault(); no(); }
    }
    function no() {
      document.removeEventListener("keydown", onEscape);
      box.textContent = "";
      if (opener && opener.isConnected) opener.focus();
    }
    // The second click of a double click (detail 2) is the same answer: it does not act again.
    group = el("div", { class: "confirm", role: "group", "aria-labelledby": "confirm-question" }, text,
      extra ? el("div", { class: "confirm-fields" }, extra.nodes) : null,
      button(yesLabel, function (e) { if (e && e.detail > 1) return; document.removeEventListener("keydown", onEscape); onYes(); }),
      button(noLabel, no));
    box.appendChild(group);
    document.addEventListener("keydown", onEscape);
    (extra && extra.focus ? extra.focus : text).focus();
  }

  /**
   * Paging of a list the API answers a page at a time. The page's address holds where it starts
   * (`after`: the API's next_cursor, or for Stripe-style lists the last id before it, sent as
   * starting_after) and its number; "Older" opens the next page, "Newest" the first. Filters are kept.
   */
  function afterQuery(params, style) {
    var after = params.get("after");
    return after ? (style === "cursor" ? "&cursor=" : "&starting_after=") + encodeURIComponent(after) : "";
  }
  function pager(path, params, list) {
    var data = list.data || [];
    var next = "next_cursor" in list ? list.next_cursor : list.has_more && data.length ? data[data.length - 1].id : null;
    var number = Math.max(1, parseInt(params.get("page"), 10) || 1);
    if (!next && number === 1) return null;
    function link(after, page, text) {
      var q = new URLSearchParams(params);
      q.delete("after");
      q.delete("page");
      if (after) { q.set("after", after); q.set("page", String(page)); }
      var search = q.toString();
      return el("a", { href: "#" + path + (search ? "?" + search : ""), text: text });
    }
    return el("nav", { class: "pager", "aria-label": "Pages of this list" },
      number > 1 ? link(null, 1, "← Newest") : null,
      el("span", { text: "Page " + number }),
      next ? link(next, number + 1, "Older →") : el("span", { class: "hint", text: "No older entries" }));
  }

  /** An attempt's response in the words of its payment method: a PayPal payment waits for the payer's approval at PayPal, not for a card issuer's 3D Secure. */
  function attemptWords(t, methodType) {
    var paypal = methodType === "paypal" || t.connector === "paypal";
    // The API words a PayPal wait itself (payer_approval_required); attempts recorded before it did said authentication_required.
    if (paypal && (t.response_code === "authentication_required" || t.response_code === "payer_approval_required")) return ["PayPal approval", "Waiting for the payer to approve the payment on PayPal."];
    return [t.response_code, t.response_text];
  }

  // Pages -----------------------------------------------------------------------------------------

  // The status filter: every status the API's search filters on, in its words, the one a decline leaves said so.
  var STATUS_FILTER = [["", "any"], ["requires_payment_method", "requires_payment_method (new or declined)"], ["requires_confirmation", "requires_confirmation"],
    ["requires_action", "requires_action"], ["processing", "processing"], ["requires_capture", "requires_capture"], ["succeeded", "succeeded"], ["canceled", "canceled"],
    ["failed", "failed (for good)"]];
  /** A payment's amount, and what was captured when that differs (a partial capture: the rest was released). */
  function amountCell(p) {
    var amount = money(p.amount, p.currency);
    if (p.status !== "succeeded" || typeof p.amount_received !== "number" || p.amount_received === p.amount) return amount;
    return el("span", null, amount, el("span", { class: "captured", text: "captured " + money(p.amount_received, p.currency) }));
  }

  async function payments(params, frame) {
    var status = params.get("status") || "";
    var search = params.get("q") || "";
    var form = el("form", { class: "filters", role: "search", onsubmit: function (e) {
      e.preventDefault();
      var q = form.querySelector("[name=q]").value.trim();
      if (/^pi_/.test(q)) { location.hash = "#/payments/" + encodeURIComponent(q); return; }
      location.hash = "#/payments?status=" + encodeURIComponent(form.querySelector("[name=status]").value) + "&q=" + encodeURIComponent(q);
    } },
      el("label", null, "Status ", el("select", { name: "status" }, STATUS_FILTER.map(function (s) {
        var o = el("option", { value: s[0], text: s[1] }); if (s[0] === status) o.selected = true; return o;
      }))),
      el("label", null, "Search ", el("input", { name: "q", value: search, placeholder: "pi_..., order id or customer" })),
      el("button", { type: "submit", text: "Search" }));
    var query = "limit=50" + (status ? "&status=" + encodeURIComponent(status) : "");
    if (search) query += /^cus_/.test(search) ? "&customer=" + encodeURIComponent(search) : "&order_id=" + encodeURIComponent(search);
    // Across every merchant the API serves a status from an index only within a created window (a
    // month at most): the last 30 days, said so, unless a merchant is picked or a search narrows it.
    var windowed = status && !search && principal().crossMerchant && !sessionStorage.getItem(MERCHANT);
    if (windowed) {
      var now = Math.floor(Date.now() / 1000);
      query += "&created_gte=" + (now - 30 * 86400) + "&created_lte=" + now;
    }
    // The API's statuses are Stripe's: a declined card leaves the payment requires_payment_method (it may
    // be paid with another card); "failed" is only a payment that failed for good. Declines are listed in Failed payments.
    var declines = el("p", { id: "status-hint", class: "hint" }, "A declined payment stays requires_payment_method (another card may still pay it): see the ", el("a", { href: "#/failed", text: "list of failed payments" }),
      ". failed is a payment that failed for good.");
    if (windowed) declines.append(" Across every merchant this shows the last 30 days; pick a merchant in the Merchant field above for all of its payments with this status.");
    // Shown with an error too: the search can be corrected.
    frame.head = [el("h1", { text: "Payments" }), form, declines];
    var list = await api("GET", "/v1/admin/payments/search?" + query + afterQuery(params, "cursor"));
    // Ids are random letters of varying widths: they break only when the row would not fit otherwise
    // (a row of wide ones overflowed a 1280 px page), as a status does after an underscore.
    return [el("h1", { text: "Payments" }), form, declines, table([
      ["Payment", function (p) { return p.id; }, "wrap-id wide-id"], ["Amount", amountCell, "nowrap"], ["Status", function (p) { return breakable(p.status); }],
      ["Refunded", function (p) { return p.amount_refunded ? money(p.amount_refunded, p.currency) : ""; }], ["Order", function (p) { return p.order_id; }, "long"],
      ["Merchant", function (p) { return p.merchant_id; }, "wrap-id wide-id"], ["Created", function (p) { return when(p.created); }, "nowrap"],
    ], list.data, function (p) { return paymentHash(p.id, p.merchant_id); }), pager("/payments", params, list)];
  }

  /** The address of a payment's page (with its merchant for a token acting across merchants; `from`: the list it was opened from, for its back link). */
  function paymentHash(id, merchant, from) {
    var q = new URLSearchParams();
    if (principal().crossMerchant && merchant) q.set("merchant", merchant);
    if (from) q.set("from", from);
    var search = q.toString();
    return "#/payments/" + encodeURIComponent(id) + (search ? "?" + search : "");
  }
  var BACK = { failed: ["#/failed", "← Failed payments"], approvals: ["#/approvals", "← Refund approvals"] };
  function backLink(params) {
    var back = BACK[params.get("from")] || ["#/payments", "← Payments"];
    return el("p", null, el("a", { href: back[0], text: back[1] }));
  }

  /**
   * A payment's refunds that hold part of what may be refunded: `awaiting` approval (held, not sent to
   * the payment provider) and `sent` (pending at the provider: no approval needed, or approved), in minor units.
   */
  function refundsHeld(refunds) {
    var held = { awaiting: 0, awaitingCount: 0, sent: 0 };
    refunds.forEach(function (r) {
      if (r.status !== "pending") return;
      if (r.requires_approval && !(r.approval && r.approval.status === "approved")) { held.awaiting += r.amount; held.awaitingCount += 1; } else held.sent += r.amount;
    });
    return held;
  }

  /**
   * Why the API refused an amount, in the currency's decimals: its message counts in minor units
   * ("Refund amount (2000) is greater than the unrefunded amount on charge ch_... (500).").
   */
  function amountRefusal(e, currency, verb) {
    var counts = /\((\d+)\)[^()]*\((\d+)\)\.?$/.exec(e.message || "");
    if (e.code === "amount_too_large" && counts) {
      return "refused: " + money(Number(counts[1]), currency) + " is more than the " + money(Number(counts[2]), currency) + " that can still be " + verb +
        (verb === "refunded" ? " (refunds awaiting approval or pending count against it). Reload the page to see them." : ".");
    }
    return e.message;
  }

  /**
   * A payment's timeline, oldest first: its attempts (the API lists them oldest first), refunds and
   * events (newest first), by their time in milliseconds where the API gives it (created_ms), so that
   * what happened in one second keeps its order. A refund (whole seconds only) takes the time of its
   * first event or attempt. Equal times keep each list's own order, a refund before its attempt, events last.
   */
  function timelineOf(attempts, refunds, events, attemptEntry) {
    var firstMs = {};
    function seen(id, ms) { if (id && typeof ms === "number" && !(firstMs[id] <= ms)) firstMs[id] = ms; }
    attempts.forEach(function (t) { seen(t.refund, t.created_ms); });
    events.forEach(function (ev) { var o = ev.data && ev.data.object; if (o && o.object === "refund") seen(o.id, ev.created_ms); });
    function msOf(x, fallback) { return typeof x.created_ms === "number" ? x.created_ms : typeof fallback === "number" ? fallback : (x.created || 0) * 1000; }
    var entries = [];
    function add(list, rank, make) {
      list.forEach(function (x, seq) { var e = make(x); e.ms = msOf(x, x.object === "refund" ? firstMs[x.id] : undefined); e.at = x.created; e.rank = rank; e.seq = seq; entries.push(e); });
    }
    add(attempts, 1, attemptEntry);
    add(refunds.slice().reverse(), 0, function (r) { return { what: "refund " + r.id + ": " + r.status + (r.status === "pending" && r.requires_approval && !r.approval ? " (awaiting approval)" : ""), detail: money(r.amount, r.currency) + (r.reason ? " · " + r.reason : "") }; });
    add(events.slice().reverse(), 2, function (ev) { return { what: "event: " + ev.type, detail: ev.id }; });
    return entries.sort(function (a, b) { return a.ms - b.ms || a.rank - b.rank || a.seq - b.seq; });
  }

  async function payment(id, params, frame) {
    frame.head = [backLink(params), el("h1", { text: "Payment " + id })];
    var merchant = params.get("merchant");
    var pi = await api("GET", "/v1/payment_intents/" + encodeURIComponent(id) + "?expand[]=payment_method", null, merchant);
    merchant = merchant || pi.merchant_id;
    var q = encodeURIComponent(id);
    var results = await Promise.all([
      api("GET", "/v1/payment_intents/" + q + "/transactions", null, merchant),
      api("GET", "/v1/refunds?limit=100&payment_intent=" + q, null, merchant),
      api("GET", "/v1/events?limit=100&payment_intent=" + q, null, merchant),
    ]);
    var actions = el("div", { class: "actions" });
    // Where the second step of an action that moves money asks to confirm it.
    var confirming = el("div", { id: "confirm-step" });
    // Each action's key is kept until the API answered it (see keyed): a double click, or confirming again
    // after a lost answer, replays it; once answered, the next confirmation is a new attempt. A refund's
    // is kept per amount, so that another amount confirmed after a change of mind is a refund of its own.
    var keys = { refunds: {} };
    if (pi.status === "requires_capture" && can("payments.transactions.create")) {
      var capture = button("Capture", function () {
        var capturable = money(pi.amount_capturable, pi.currency);
        confirmStep(confirming, "Capture the " + capturable + " authorized for this payment? The customer is charged " + capturable + ".", "Yes, capture " + capturable, "Do not capture", function () {
          act("Capture of " + pi.id, function () { return keyed(keys, "capture", function (key) { return api("POST", "/v1/payment_intents/" + q + "/capture", {}, merchant, key); }); },
            { failed: function (e) { return "Capture of " + pi.id + ": " + amountRefusal(e, pi.currency, "captured"); } });
        }, capture);
      });
      actions.appendChild(capture);
    }
    if (["requires_payment_method", "requires_confirmation", "requires_action", "requires_capture"].indexOf(pi.status) >= 0 && can("payments.transactions.void")) {
      var cancel = button("Cancel payment", function () {
        var after = pi.status === "requires_capture" ? "The " + money(pi.amount_capturable, pi.currency) + " authorized is released and can no longer be captured." : "It can no longer be paid.";
        confirmStep(confirming, "Cancel this payment of " + money(pi.amount, pi.currency) + "? " + after, "Yes, cancel payment", "Keep payment", function () {
          act("Cancel of " + pi.id, function () { return keyed(keys, "cancel", function (key) { return api("POST", "/v1/payment_intents/" + q + "/cancel", {}, merchant, key); }); });
        }, cancel);
      });
      actions.appendChild(cancel);
    }
    // Refunds not done yet hold their amount as the API counts it (refundable: captured, less refunds
    // succeeded or pending): those awaiting approval, and those sent to the payment provider.
    var held = refundsHeld(results[1].data || []);
    var code = String(pi.currency).toUpperCase();
    var remaining = pi.amount_received - pi.amount_refunded - held.awaiting - held.sent;
    if (pi.status === "succeeded" && pi.amount_received > pi.amount_refunded && remaining <= 0 && can("payments.transactions.void")) {
      actions.appendChild(el("p", { id: "refund-none", class: "hint", text: "Nothing more can be refunded now: " + [
        held.awaiting ? money(held.awaiting, code) + " awaits approval" : null, held.sent ? money(held.sent, code) + " is pending at the payment provider" : null,
      ].filter(Boolean).join(" and ") + "." }));
    }
    if (pi.status === "succeeded" && remaining > 0 && can("payments.transactions.void")) {
      // Typed in the currency's decimals (5.00 USD, 12.345 KWD, 500 JPY), sent in minor units (minorOf: by digits, no floating point).
      var amount = el("input", { id: "refund-amount", type: "text", inputmode: digitsOf(code) ? "decimal" : "numeric", autocomplete: "off", required: "required", value: decimalOf(remaining, code), "aria-describedby": "refund-hint" });
      var holding = [held.awaiting ? money(held.awaiting, code) + " awaiting approval" : null, held.sent ? money(held.sent, code) + " pending at the payment provider" : null].filter(Boolean);
      var hint = el("span", { id: "refund-hint", class: "hint", text: "In " + code + (digitsOf(code) ? ", up to " + digitsOf(code) + " decimals" : ", no decimals") + "; at most " + money(remaining, code) + (holding.length ? " (" + holding.join(" and ") + " counts against it)" : "") + "." });
      var wrong = el("p", { id: "refund-error", class: "error", role: "alert" });
      function refused(why) {
        wrong.textContent = why;
        amount.setAttribute("aria-invalid", "true");
        amount.setAttribute("aria-describedby", "refund-error refund-hint");
        amount.focus();
      }
      // A changed amount takes back a confirmation asked for another.
      amount.oninput = function () {
        confirming.textContent = "";
        wrong.textContent = "";
        amount.removeAttribute("aria-invalid");
        amount.setAttribute("aria-describedby", "refund-hint");
      };
      var refund = el("button", { type: "submit", text: "Refund" });
      actions.appendChild(el("form", { class: "inline", novalidate: "novalidate", onsubmit: function (e) {
        e.preventDefault();
        var typed = minorOf(amount.value, code);
        if (typed.error) { confirming.textContent = ""; return refused(typed.error); }
        var minor = typed.minor;
        if (minor > remaining) { confirming.textContent = ""; return refused("At most " + money(remaining, code) + " remains to be refunded; " + money(minor, code) + " is more."); }
        var question = minor === remaining
          ? "Refund the full remaining " + money(minor, pi.currency) + " of this payment to the customer?"
          : "Refund " + money(minor, pi.currency) + " of the " + money(remaining, pi.currency) + " remaining to the customer?";
        confirmStep(confirming, question, "Confirm refund of " + money(minor, pi.currency), "Do not refund", function () {
          act("Refund of " + money(minor, pi.currency) + " on " + pi.id, function () {
            return keyed(keys.refunds, String(minor), function (key) { return api("POST", "/v1/refunds", { payment_intent: id, amount: minor }, merchant, key); });
          }, { done: function (r) {
            var what = "Refund of " + money(minor, pi.currency) + " on " + pi.id;
            return r && r.id ? what + ": " + (r.status === "succeeded" ? "done (" + r.id + ")" : r.id + " is " + r.status + (r.requires_approval ? " (waiting for approval)" : "")) : what + ": done";
          }, failed: function (e) { return "Refund of " + money(minor, pi.currency) + " on " + pi.id + ": " + amountRefusal(e, pi.currency, "refunded"); } });
        }, refund);
      } }, el("label", { for: "refund-amount", text: "Refund amount (" + code + ")" }), amount, refund, hint));
      actions.appendChild(wrong);
    }
    actions.appendChild(confirming);
    // The payment method of each attempt, where the intent names it (an attempt's words depend on it).
    var methodTypes = {};
    [pi.payment_method, pi.last_payment_error && pi.last_payment_error.payment_method].forEach(function (pm) { if (pm && typeof pm === "object" && pm.id) methodTypes[pm.id] = pm.type; });
    var timeline = timelineOf(results[0].data || [], results[1].data || [], results[2].data || [], function (t) {
      return { what: "attempt: " + t.type + " " + t.status, detail: [money(t.amount, pi.currency), t.connector].concat(attemptWords(t, methodTypes[t.payment_method])).filter(Boolean).join(" · ") };
    });
    var captured = pi.amount_received > 0 || pi.status === "succeeded";
    var resolution = pi.failure_resolution;
    return [
      backLink(params),
      el("h1", { text: "Payment " + pi.id }),
      el("dl", { class: "facts" },
        el("dt", { text: "Status" }), el("dd", { id: "payment-status", text: pi.status }),
        el("dt", { text: "Amount" }), el("dd", { text: money(pi.amount, pi.currency) }),
        pi.status === "requires_capture" ? el("dt", { text: "Capturable" }) : null, pi.status === "requires_capture" ? el("dd", { id: "payment-capturable", text: money(pi.amount_capturable, pi.currency) }) : null,
        // What was charged: the amount captured (a partial capture released the rest of the authorization).
        captured ? el("dt", { text: "Captured" }) : null,
        captured ? el("dd", { id: "payment-captured", text: money(pi.amount_received, pi.currency) + (pi.status === "succeeded" && pi.amount_received < pi.amount ? " (of " + money(pi.amount, pi.currency) + " authorized; " + money(pi.amount - pi.amount_received, pi.currency) + " released)" : "") }) : null,
        el("dt", { text: "Refunded" }), el("dd", { id: "payment-refunded", text: money(pi.amount_refunded, pi.currency) }),
        held.awaiting ? el("dt", { text: "Awaiting approval" }) : null, held.awaiting ? el("dd", { id: "payment-awaiting-approval" }, money(held.awaiting, pi.currency) + " (refund" + (held.awaitingCount > 1 ? "s" : "") + " held for approval) ", el("a", { href: "#/approvals", text: "Refund approvals" })) : null,
        held.sent ? el("dt", { text: "Refund pending" }) : null, held.sent ? el("dd", { id: "payment-refund-pending", text: money(held.sent, pi.currency) + " (sent to the payment provider, not confirmed yet)" }) : null,
        el("dt", { text: "Merchant" }), el("dd", { text: pi.merchant_id || "" }),
        el("dt", { text: "Customer" }), el("dd", { text: pi.customer || "" }),
        el("dt", { text: "Order" }), el("dd", { text: pi.order_id || "" }),
        pi.retry_of ? el("dt", { text: "Retry of" }) : null, pi.retry_of ? el("dd", null, el("a", { href: paymentHash(pi.retry_of, pi.merchant_id), text: pi.retry_of })) : null,
        pi.last_payment_error ? el("dt", { text: "Declined" }) : null, pi.last_payment_error ? el("dd", { id: "payment-error", text: [pi.last_payment_error.decline_code || pi.last_payment_error.code, pi.last_payment_error.message].filter(Boolean).join(": ") }) : null,
        // A failed payment an operator (or a retry that paid it) resolved or dismissed: the API takes no retry, resolve or dismiss of it any more.
        resolution ? el("dt", { text: "Failure resolution" }) : null, resolution ? el("dd", { id: "payment-resolution", text: resolutionWords(resolution) }) : null,
        resolution && (resolution.actor || resolution.at) ? el("dt", { text: resolution.status === "dismissed" ? "Dismissed by" : "Resolved by" }) : null,
        resolution && (resolution.actor || resolution.at) ? el("dd", { id: "payment-resolution-by", text: [resolution.actor, resolution.at ? "at " + when(resolution.at) : null].filter(Boolean).join(" ") }) : null,
        resolution && resolution.retried_by ? el("dt", { text: "Paid by the retry" }) : null,
        resolution && resolution.retried_by ? el("dd", null, el("a", { id: "payment-retried-by", href: paymentHash(resolution.retried_by, pi.merchant_id), text: resolution.retried_by })) : null),
      actions,
      el("h2", { text: "Timeline" }),
      table([["When", function (t) { return when(t.at); }, "nowrap"], ["What", function (t) { return t.what; }], ["Details", function (t) { return t.detail; }]], timeline),
    ];
  }

  /**
   * A row's action behind a confirmation: `ask` opens the question; `what` names the action and its
   * object in the status line; the action's key is kept in `keys` until the API answered (see keyed).
   */
  function confirmed(box, keys, label, question, yesLabel, noLabel, call, what, o) {
    var ask = button(label, function (e) {
      e.stopPropagation();
      if (o && o.reason) return askReason(box, keys, label, question, yesLabel, noLabel, call, what, o, ask);
      confirmStep(box, question, yesLabel, noLabel, function () { act(what, function () { return keyed(keys, label, call); }, o); }, ask);
    }, o && o.name);
    return ask;
  }

  /** The most characters of a reason the API keeps (resolve, dismiss). */
  var REASON_MAX = 500;
  /**
   * The question of an action the API records with a reason (resolve, dismiss): the reason is typed in
   * the question (required, at most REASON_MAX characters), and `o.reason.otherMeans` offers "Paid by
   * other means". `call(key, fields)` sends { reason, paid_by_other_means }. The action's key is kept per
   * answer (see keyed): confirming again with another reason is a request of its own.
   */
  function askReason(box, keys, label, question, yesLabel, noLabel, call, what, o, opener) {
    var reason = el("input", { id: "confirm-reason", type: "text", maxlength: String(REASON_MAX), autocomplete: "off", required: "required", "aria-describedby": "confirm-question confirm-reason-hint" });
    var hint = el("span", { id: "confirm-reason-hint", class: "hint", text: "Required; at most " + REASON_MAX + " characters. Kept with the payment." });
    var wrong = el("p", { id: "confirm-reason-error", class: "error", role: "alert" });
    var paid = o.reason.otherMeans ? el("input", { id: "confirm-paid", type: "checkbox" }) : null;
    function refuse(why) {
      wrong.textContent = why;
      reason.setAttribute("aria-invalid", "true");
      reason.setAttribute("aria-describedby", "confirm-reason-error confirm-question confirm-reason-hint");
      reason.focus();
    }
    reason.oninput = function () {
      wrong.textContent = "";
      reason.removeAttribute("aria-invalid");
      reason.setAttribute("aria-describedby", "confirm-question confirm-reason-hint");
    };
    function yes() {
      var text = reason.value.trim();
      if (!text) return refuse("Type the reason first: the gateway keeps it with the payment.");
      if (text.length > REASON_MAX) return refuse("The reason has " + text.length + " characters; at most " + REASON_MAX + " are kept.");
      var fields = { reason: text };
      if (paid && paid.checked) fields.paid_by_other_means = true;
      act(what, function () { return keyed(keys, label + "\n" + JSON.stringify(fields), function (key) { return call(key, fields); }); }, o);
    }
    // Enter in the reason answers Yes, as the button does.
    reason.onkeydown = function (e) { if (e.key === "Enter") { e.preventDefault(); yes(); } };
    confirmStep(box, question, yesLabel, noLabel, yes, opener, {
      nodes: [
        el("label", { for: "confirm-reason", text: "Reason" }), reason, hint,
        paid ? el("label", { class: "check", for: "confirm-paid" }, paid, " " + o.reason.otherMeans) : null,
        wrong,
      ],
      focus: reason,
    });
  }

  /** A retry's outcome in words, naming the failed payment and the new payment made (the API answers both, a decline too). */
  var retryWords = {
    done: function (r) {
      var made = r && r.retry;
      var what = "Retry of " + (r && r.original ? r.original.id : "");
      if (!made) return what + ": done";
      return what + ": " + (made.status === "succeeded" ? "paid by " + made.id : "new payment " + made.id + " is " + made.status);
    },
  };
  function retryFailed(id) {
    return function (e) {
      var made = e.body && e.body.retry;
      if (made && made.id) return "Retry of " + id + ": declined, new payment " + made.id + " (" + e.message + ")";
      return "Retry of " + id + ": " + e.message;
    };
  }

  /** A word_with_underscores that may break after an underscore (requires_payment_method in a narrow column). */
  function breakable(text) {
    var span = el("span", null);
    String(text || "").split(/(?<=_)/).forEach(function (part, i) { if (i) span.appendChild(el("wbr", null)); span.appendChild(document.createTextNode(part)); });
    return span;
  }

  /** A retry's status in the failed payments' words. */
  var RETRY_WORDS = { requires_payment_method: "declined", requires_action: "awaiting the customer", processing: "outcome pending", succeeded: "paid", canceled: "canceled" };
  /**
   * A failed payment's retries (the API lists them with it, never as failed payments of their own): the
   * latest, a link to its page, with its outcome and how many there were.
   */
  function retriesCell(p) {
    var retries = p.retries || [];
    var last = retries[retries.length - 1];
    if (!last) return "";
    return el("span", null,
      el("a", { href: paymentHash(last.id, p.merchant_id, "failed"), text: last.id, onclick: function (e) { e.stopPropagation(); } }),
      " " + (RETRY_WORDS[last.status] || last.status) + (retries.length > 1 ? " (" + retries.length + " retries)" : ""));
  }

  /** A failed payment's resolution in words ("resolved, paid by other means: paid in cash"); "open" while it has none. */
  function resolutionWords(r) {
    if (!r) return "open";
    return r.status + (r.paid_by_other_means ? ", paid by other means" : "") + (r.retried_by ? " by the retry " + r.retried_by : "") + (r.reason ? ": " + r.reason : "");
  }

  var RESOLUTIONS = [["open", "Open"], ["resolved", "Resolved"], ["dismissed", "Dismissed"], ["all", "All"]];
  async function failed(params, frame) {
    var resolution = params.get("resolution") || "open";
    if (!RESOLUTIONS.some(function (r) { return r[0] === resolution; })) resolution = "open";
    // The filter: one link per resolution (the current one marked), each the list's first page.
    var form = el("nav", { class: "filters choices", id: "failed-resolution", "aria-label": "Resolution" }, el("span", { text: "Resolution:" }), RESOLUTIONS.map(function (r) {
      var a = el("a", { href: "#/failed" + (r[0] === "open" ? "" : "?resolution=" + r[0]), text: r[1] });
      if (r[0] === resolution) a.setAttribute("aria-current", "true");
      return a;
    }));
    // Shown with an error too: the filter can be changed.
    frame.head = [el("h1", { text: "Failed payments" }), form];
    var list = await api("GET", "/v1/admin/failed_payments?limit=50" + (resolution === "open" ? "" : "&resolution=" + resolution) + afterQuery(params, "cursor"));
    var rows = list.data || [];
    var across = principal().crossMerchant;
    // Where a row's action asks to be confirmed: retrying charges the amount again; resolving and dismissing cannot be undone.
    var confirming = el("div", { id: "confirm-step" });
    var keys = {};
    // Each row's Retries cell, kept to show a declined retry's new payment at once (the question stays
    // open for another try, so the list is not drawn again).
    var retryCells = {};
    function retryDeclined(p) {
      var told = retryFailed(p.id);
      return function (e) {
        var made = e.body && e.body.retry;
        var cell = retryCells[p.id];
        if (made && made.id && cell) {
          p.retries = (p.retries || []).filter(function (r) { return r.id !== made.id; }).concat([{ id: made.id, status: made.status, created: made.created }]);
          cell.replaceChildren(retriesCell(p));
        }
        return told(e);
      };
    }
    // The actions come first (on a phone they are in view with the payment's id next to them, which wraps);
    // a row opens the payment's page (its attempts and their answers).
    var columns = [
      ["", function (p) {
        // A resolved or dismissed payment is done with: the API refuses to retry, resolve or dismiss it again.
        if (!can("payments.transactions.create") || p.failure_resolution) return "";
        var amount = money(p.amount, p.currency);
        var path = "/v1/admin/failed_payments/" + encodeURIComponent(p.id) + "/";
        var mine = keys[p.id] || (keys[p.id] = {});
        // A payment the API never retries as a new one (an invoice's, a Checkout Session's, an iCliGo
        // payment's: retry_refusal says why) offers no Retry, only what can be done with it.
        return el("span", { class: "row-actions" },
          !p.retry_refusal && confirmed(confirming, mine, "Retry", "Retry the failed payment " + p.id + " of " + amount + "? A new payment of " + amount + " is made with the same payment method.", "Yes, retry " + amount, "Do not retry",
            function (key) { return api("POST", path + "retry", {}, p.merchant_id, key); }, "Retry of " + p.id, { done: retryWords.done, failed: retryDeclined(p), name: "Retry " + p.id + " (" + amount + ")" }),
          confirmed(confirming, mine, "Resolve", "Mark the failed payment " + p.id + " of " + amount + " as resolved? It leaves the open failed payments for good: this cannot be undone.", "Yes, resolve", "Keep it open",
            function (key, fields) { return api("POST", path + "resolve", fields, p.merchant_id, key); }, "Resolve " + p.id, { reason: { otherMeans: "Paid by other means (e.g. cash or bank transfer)" }, name: "Resolve " + p.id + " (" + amount + ")" }),
          confirmed(confirming, mine, "Dismiss", "Dismiss the failed payment " + p.id + " of " + amount + "? It leaves the open failed payments for good: this cannot be undone.", "Yes, dismiss", "Keep it open",
            function (key, fields) { return api("POST", path + "dismiss", fields, p.merchant_id, key); }, "Dismiss " + p.id, { reason: {}, name: "Dismiss " + p.id + " (" + amount + ")" }));
      }, "acts"],
      // The id breaks only when the row would not fit (at 1280 px the All view has Resolution and Merchant too).
      ["Payment", function (p) { return p.id; }, "id wrap-id"], ["Amount", function (p) { return money(p.amount, p.currency); }, "nowrap"], ["Status", function (p) { return breakable(p.status); }],
      ["Reason", function (p) { return (p.last_payment_error && (p.last_payment_error.decline_code || p.last_payment_error.code)) || ""; }],
      ["Retries", function (p) { return (retryCells[p.id] = el("span", null, retriesCell(p))); }, "wrap-id"],
    ];
    var open = rows.filter(function (p) { return !p.failure_resolution; });
    if (!can("payments.transactions.create") || (resolution !== "open" && !open.length)) columns.shift();
    if (resolution !== "open") columns.push(["Resolution", function (p) { return resolutionWords(p.failure_resolution); }, "long"]);
    if (across) columns.push(["Merchant", function (p) { return p.merchant_id; }, "wrap-id"]);
    columns.push(["Created", function (p) { return when(p.created); }, "nowrap"]);
    return [el("h1", { text: "Failed payments" }), form, confirming, table(columns, rows, function (p) { return paymentHash(p.id, p.merchant_id, "failed"); }), pager("/failed", params, list)];
  }

  async function approvals(params, frame) {
    frame.head = [el("h1", { text: "Refunds awaiting approval" })];
    var list = await api("GET", "/v1/admin/refunds?limit=50" + afterQuery(params, "cursor"));
    var confirming = el("div", { id: "confirm-step" });
    var keys = {};
    // The API takes an approval only from a person (a user's token, never an API key); withdrawing
    // (rejecting) a refund is anyone's who holds refunds.approve.
    var p = principal();
    var mayReject = !!p.perms["refunds.approve"];
    var mayApprove = mayReject && p.kind === "jwt";
    var columns = [
      ["Refund", function (r) { return r.id; }], ["Payment", function (r) { return r.payment_intent; }, null, true], ["Amount", function (r) { return money(r.amount, r.currency); }], ["Status", function (r) { return r.status; }],
    ];
    var rows = list.data || [];
    // A token across merchants: whose refund it is, where the API names it (its refunds do not say yet: then the merchant picked).
    if (p.crossMerchant && rows.some(function (r) { return r.merchant_id; })) columns.push(["Merchant", function (r) { return r.merchant_id; }]);
    columns.push(["Created", function (r) { return when(r.created); }]);
    columns.push(["", function (r) {
        if (!mayReject) return "";
        var amount = money(r.amount, r.currency);
        var path = "/v1/admin/refunds/" + encodeURIComponent(r.id) + "/";
        var mine = keys[r.id] || (keys[r.id] = {});
        // Four eyes: one's own request is approved by someone else (the API refuses it), so it is not offered.
        var own = !!(r.requested_by && p.actor && samePerson(r.requested_by, p.actor));
        return el("span", { class: "row-actions" },
          own && mayApprove ? el("span", { class: "hint", text: "Requested by you: another person approves it" }) : null,
          mayApprove && !own ? confirmed(confirming, mine, "Approve", "Approve the refund " + r.id + " of " + amount + "? The " + amount + " is sent back to the customer.", "Yes, approve refund of " + amount, "Do not approve",
            function (key) { return api("POST", path + "approve", {}, r.merchant_id, key); }, "Approve " + r.id + " (" + amount + " on " + r.payment_intent + ")", { name: "Approve " + r.id + " (" + amount + ")" }) : null,
          confirmed(confirming, mine, "Reject", "Reject the refund " + r.id + " of " + amount + "? It is not paid, and cannot be approved later.", "Yes, reject refund", "Keep it waiting",
            function (key) { return api("POST", path + "reject", {}, r.merchant_id, key); }, "Reject " + r.id + " (" + amount + " on " + r.payment_intent + ")", { name: "Reject " + r.id + " (" + amount + ")" }));
      }, "acts"]);
    // A row opens its payment's page: its link is the payment's id.
    return [el("h1", { text: "Refunds awaiting approval" }), confirming, table(columns, rows, function (r) { return paymentHash(r.payment_intent, r.merchant_id || sessionStorage.getItem(MERCHANT), "approvals"); }), pager("/approvals", params, list)];
  }

  async function webhooks(params, frame) {
    frame.head = [el("h1", { text: "Webhook endpoints" })];
    var list = await api("GET", "/v1/webhook_endpoints?limit=50" + afterQuery(params, "id"));
    // Where rolling an endpoint's secret asks to be confirmed: the old secret stops working (the API keeps it 24 h), and that cannot be undone.
    var confirming = el("div", { id: "confirm-step" });
    var keys = {};
    var out = [el("h1", { text: "Webhook endpoints" }), confirming];
    out.push(table([["Endpoint", function (w) { return w.id; }], ["URL", function (w) { return w.url; }, "long"], ["Status", function (w) { return w.status; }], ["Events", function (w) { return (w.enabled_events || []).join(", "); }],
      ["", function (w) {
        if (!can("webhooks.manage")) return "";
        var mine = keys[w.id] || (keys[w.id] = {});
        return confirmed(confirming, mine, "Roll secret", "Roll the signing secret of the endpoint " + w.id + " (" + w.url + ")? The old secret stops working in 24 hours: this cannot be undone.", "Yes, roll secret", "Keep the secret",
          function (key) { return api("POST", "/v1/webhook_endpoints/" + encodeURIComponent(w.id) + "/roll_secret", {}, null, key); }, "Roll secret of " + w.id, {
            name: "Roll secret of " + w.id,
            // The new secret is in this answer only: shown once, below the heading (never in the status line).
            done: function (r) { return "Roll secret of " + w.id + ": done" + (r && r.secret ? "; the new secret is shown below, only this once." : ", but the gateway's answer had no secret."); },
            reveal: function (r) {
              if (!r || typeof r.secret !== "string") return null;
              var until = r.secret_rolled_previous_expires_at;
              return secretReveal(w.id, r.secret, typeof until === "number"
                ? "The old secret keeps working until " + when(until) + " UTC (its grace period): until then each delivery is signed with both, so the receiver can switch over."
                : until === null ? "The old secret no longer works." : "The old secret keeps working for its grace period (up to 24 hours).");
            },
          });
      }]],
      list.data || [], function (w) { return "#/webhooks/" + encodeURIComponent(w.id); }), pager("/webhooks", params, list));
    return out;
  }

  /** A datetime-local value (the browser's time zone) as Unix seconds; null when empty or invalid. */
  function unixSeconds(value) {
    if (!value) return null;
    var ms = new Date(value).getTime();
    return isNaN(ms) ? null : Math.floor(ms / 1000);
  }
  function localInput(date) {
    var d = new Date(date.getTime() - date.getTimezoneOffset() * 60000);
    return d.toISOString().slice(0, 16);
  }

  // A replay re-sends at most 500 deliveries a call; the page makes at most 20 calls.
  var REPLAY_PER_CALL = 500, REPLAY_CALLS = 20;
  /**
   * "Replay a range": re-sends the endpoint's deliveries created between From and To (To empty: now),
   * oldest first, once confirmed: the question names the range and how many deliveries at most (those
   * of the list shown when it holds them all, else what the page sends at most). `all`: every delivery of
   * the endpoint when the page shown holds them all (its first page, nothing older), else null.
   */
  function replayForm(id, all) {
    var from = el("input", { id: "replay-from", name: "from", type: "datetime-local", required: "required", value: localInput(new Date(Date.now() - 24 * 3600 * 1000)) });
    var to = el("input", { id: "replay-to", name: "to", type: "datetime-local" });
    var status = el("select", { id: "replay-status", name: "status" }, el("option", { value: "failed", text: "Failed only" }), el("option", { value: "all", text: "All" }));
    var submit = el("button", { type: "submit", text: "Replay" });
    var confirming = el("div", { id: "confirm-step" });
    var keys = {};
    var form = el("form", { class: "inline", id: "replay-form", "aria-label": "Replay a range", onsubmit: function (e) {
      e.preventDefault();
      var gte = unixSeconds(from.value);
      if (gte === null) { from.focus(); return; }
      var body = { created: { gte: gte }, status: status.value };
      var lte = unixSeconds(to.value);
      if (lte !== null) body.created.lte = lte;
      var upTo = lte === null ? Math.floor(Date.now() / 1000) : lte;
      var most = REPLAY_PER_CALL * REPLAY_CALLS;
      if (all) {
        // The list shown holds every delivery: those of the range are all the replay can send.
        most = all.filter(function (d) { return d.created >= body.created.gte && d.created <= upTo && (body.status === "all" || d.status !== "succeeded"); }).length;
      }
      var range = " created from " + when(body.created.gte) + " UTC to " + (lte === null ? "now" : when(lte) + " UTC");
      var what = (body.status === "all" ? "" : "failed or unfinished ") + "deliveries to " + id + range;
      var question = most === 0 ? "Re-send the " + what + "? None is listed here, so at most the deliveries made since this page was loaded are sent again. This cannot be undone." : "Re-send the " + what + "? At most " + most.toLocaleString("en") + " deliver" + (most === 1 ? "y is" : "ies are") + " sent again, each event once more to the receiver. This cannot be undone.";
      confirmStep(confirming, question, "Yes, replay at most " + most.toLocaleString("en"), "Do not replay", function () {
        act("Replay to " + id, function () {
          // One key per confirmed range (see keyed), one per call of it: confirming again after a lost answer replays the same calls.
          return keyed(keys, JSON.stringify(body), async function (key) {
            var sent = 0, calls = 0, res, next = {};
            // 500 a call: continue after the last one re-sent while the range has more (at most 20 calls).
            do {
              res = await api("POST", "/v1/webhook_endpoints/" + encodeURIComponent(id) + "/replay", Object.assign({}, body, next), null, key + "-" + calls);
              sent += res.requested;
              calls += 1;
              if (res.deliveries.length) next = { starting_after: res.deliveries[res.deliveries.length - 1] };
            } while (res.has_more && res.deliveries.length && calls < REPLAY_CALLS);
            return { sent: sent, more: res.has_more };
          });
        }, { done: function (r) { return "Replay to " + id + ": re-sent " + r.sent + " deliver" + (r.sent === 1 ? "y" : "ies") + (r.more ? " (more remain: replay again)" : ""); } });
      }, submit);
    } },
      el("strong", { text: "Replay a range" }),
      el("label", { for: "replay-from", text: "From" }), from,
      el("label", { for: "replay-to", text: "To" }), to,
      el("label", { for: "replay-status", text: "Deliveries" }), status,
      submit,
      el("span", { class: "hint", text: "At most 14 days; To empty means now. Asks before sending." }));
    return el("div", null, form, confirming);
  }

  async function deliveries(id, params, frame) {
    frame.head = [el("p", null, el("a", { href: "#/webhooks", text: "← Webhook endpoints" })), el("h1", { text: "Deliveries to " + id })];
    var list = await api("GET", "/v1/webhook_endpoints/" + encodeURIComponent(id) + "/deliveries?limit=100" + afterQuery(params, "id"));
    return [el("p", null, el("a", { href: "#/webhooks", text: "← Webhook endpoints" })), el("h1", { text: "Deliveries to " + id }), can("webhooks.manage") ? replayForm(id, !params.get("after") && !list.has_more ? list.data || [] : null) : el("span", null), table([
      ["Delivery", function (d) { return d.id; }], ["Event", function (d) { return d.event; }], ["Status", function (d) { return d.status; }], ["Attempts", function (d) { return d.attempt_count; }], ["Last answer", function (d) { return d.last_status_code || d.last_error || ""; }],
      ["", function (d) { return can("webhooks.manage") ? button("Resend", function () { act("Resend " + d.id, function () { return api("POST", "/v1/webhook_deliveries/" + encodeURIComponent(d.id) + "/retry", {}); }); }, "Resend " + d.id) : ""; }],
    ], list.data || []), pager("/webhooks/" + encodeURIComponent(id), params, list)];
  }

  /** A list page: `page` its address, `style` how the API pages it ("cursor": next_cursor; "id": starting_after). */
  async function simpleList(title, path, columns, page, params, style, frame) {
    frame.head = [el("h1", { text: title })];
    var list = await api("GET", path + afterQuery(params, style));
    return [el("h1", { text: title }), table(columns, list.data || []), pager(page, params, list)];
  }

  /** The share of calls under which a minute's bar is a failing one: red, and marked by a cross (not by colour alone). */
  var GOOD_RATE = 0.9;
  /**
   * A small chart of the window minute by minute: bars of the success rate (a failing minute's bar
   * red and crossed), a line of p50 latency (colours: the fill attributes, the stylesheet's in dark
   * mode). The charts shrink to the page's width; their values are also a table (in a details), for
   * those who cannot see the pictures or hover their bars.
   */
  function chart(series) {
    var NS = "http://www.w3.org/2000/svg";
    var w = 300, h = 60, n = Math.max(series.length, 1), bw = w / n;
    function svg(tag, attrs) { var node = document.createElementNS(NS, tag); Object.keys(attrs).forEach(function (k) { node.setAttribute(k, String(attrs[k])); }); return node; }
    function minute(p) { return new Date(p.start * 1000).toISOString().slice(11, 16); }
    var rates = svg("svg", { viewBox: "0 0 " + w + " " + h, width: w, height: h, role: "img", "aria-label": "success rate per minute" });
    rates.appendChild(svg("rect", { x: 0, y: 0, width: w, height: h, fill: "#f6f8fa", class: "chart-bg" }));
    series.forEach(function (p, i) {
      if (p.success_rate === null) return;
      var bh = Math.max(1, Math.round(p.success_rate * (h - 4)));
      var low = p.success_rate < GOOD_RATE;
      var bar = svg("rect", { x: i * bw + 2, y: h - bh, width: bw - 4, height: bh, fill: low ? "#e5424d" : "#2d9d78", class: low ? "point low" : "point good" });
      var title = svg("title", {});
      title.textContent = minute(p) + ": " + Math.round(p.success_rate * 100) + "% of " + p.calls + (low ? " (under " + GOOD_RATE * 100 + "%)" : "");
      bar.appendChild(title);
      rates.appendChild(bar);
      // A failing minute is crossed above its bar: told apart by its shape too, not by its colour alone.
      if (low) {
        var cx = i * bw + bw / 2, cy = Math.max(5, h - bh - 6), r = Math.min(4, bw / 2 - 1);
        rates.appendChild(svg("path", { d: "M" + (cx - r) + " " + (cy - r) + "L" + (cx + r) + " " + (cy + r) + "M" + (cx - r) + " " + (cy + r) + "L" + (cx + r) + " " + (cy - r), stroke: "#b42318", "stroke-width": 2, class: "point-mark" }));
      }
    });
    var latencies = series.map(function (p) { return p.p50_latency_ms; });
    var measured = latencies.filter(function (v) { return v !== null && v !== undefined; });
    var max = Math.max.apply(null, measured.concat([1]));
    // No latency measured in the window: said so, not a maximum of nothing.
    var caption = "p50 latency per minute (" + (measured.length ? "max " + max + " ms" : "no data") + ")";
    var lat = svg("svg", { viewBox: "0 0 " + w + " " + h, width: w, height: h, role: "img", "aria-label": caption });
    lat.appendChild(svg("rect", { x: 0, y: 0, width: w, height: h, fill: "#f6f8fa", class: "chart-bg" }));
    var points = [];
    latencies.forEach(function (v, i) { if (v !== null && v !== undefined) points.push((i * bw + bw / 2).toFixed(1) + "," + (h - 2 - (v / max) * (h - 6)).toFixed(1)); });
    if (points.length) lat.appendChild(svg("polyline", { points: points.join(" "), fill: "none", stroke: "#635bff", "stroke-width": 2, class: "chart-line" }));
    points.forEach(function (xy) { lat.appendChild(svg("circle", { cx: xy.split(",")[0], cy: xy.split(",")[1], r: 3, fill: "#635bff", class: "chart-dot" })); });
    var values = series.length ? el("details", { class: "chart-values" }, el("summary", { text: "Values per minute (table)" }), table([
      ["Minute (UTC)", minute, "nowrap"],
      ["Success rate", function (p) { return p.success_rate === null || p.success_rate === undefined ? "no calls" : Math.round(p.success_rate * 100) + "%" + (p.success_rate < GOOD_RATE ? " (under " + GOOD_RATE * 100 + "%)" : ""); }],
      ["Calls", function (p) { return p.calls || 0; }],
      ["p50 latency", function (p) { return p.p50_latency_ms === null || p.p50_latency_ms === undefined ? "n/a" : p.p50_latency_ms + " ms"; }],
    ], series)) : null;
    var legend = series.some(function (p) { return p.success_rate !== null && p.success_rate < GOOD_RATE; }) ? el("p", { class: "hint", text: "A crossed red bar: a minute under " + GOOD_RATE * 100 + "% successful." }) : null;
    return el("div", null, el("div", { class: "charts" },
      el("figure", null, rates, el("figcaption", { text: "Success rate per minute" })),
      el("figure", null, lat, el("figcaption", { text: caption }))), legend, values);
  }

  async function health(frame) {
    frame.head = [el("h1", { text: "Payment provider health" })];
    var list = await api("GET", "/v1/admin/psp_health");
    var rows = list.data || [];
    var out = [el("h1", { text: "Payment provider health" }), el("p", { text: "Last 5 minutes, per connector account." })];
    rows.forEach(function (row) {
      var h = row.health || {};
      var rate = typeof h.success_rate === "number" ? h.success_rate : null;
      var bar = el("div", { class: rate === null ? "bar unknown" : "bar", role: "img", "aria-label": "success rate " + (rate === null ? "unknown" : Math.round(rate * 100) + "%") }, el("span", { style: "width:" + (rate === null ? 0 : Math.round(rate * 100)) + "%" }));
      out.push(el("section", { class: "card" }, el("h2", { text: row.merchant_id + " · " + row.connector + (row.connector_account ? " " + row.connector_account : " (built in)") + " · " + (h.state || "") }), bar,
        el("p", { text: "calls " + (h.calls || 0) + " · success " + (rate === null ? "n/a" : Math.round(rate * 1000) / 10 + "%") + " · p50 " + (h.p50_latency_ms ?? "n/a") + " ms · p95 " + (h.p95_latency_ms ?? "n/a") + " ms · errors " + ((h.provider_errors || 0) + (h.timeouts || 0)) }), chart(h.series || [])));
    });
    if (!rows.length) out.push(el("p", { text: "No calls yet." }));
    return out;
  }

  // Each page, with what its API calls need: a permission, or one of some roles (the audit log is for
  // admin and support only). A page the credential cannot use has no link, and says so if opened.
  var PAGES = [
    ["payments", "Payments", "payments.transactions.view"], ["failed", "Failed payments", "payments.transactions.view"], ["approvals", "Refund approvals", "payments.transactions.view"],
    ["customers", "Customers", "payments.methods.view"], ["subscriptions", "Subscriptions", "billing.view"], ["webhooks", "Webhooks", "webhooks.manage"],
    ["events", "Events", "payments.transactions.view"], ["health", "PSP health", "payments.transactions.view"], ["keys", "API keys", "keys.manage"],
    ["audit", "Audit log", null, ["admin", "support"]],
  ];
  // Pages of one merchant's objects (what they show): a token acting across merchants (admin, support) picks the merchant first.
  var ONE_MERCHANT = { customers: "customers", subscriptions: "subscriptions", webhooks: "webhook endpoints", events: "events", keys: "API keys" };
  function allowed(page, p) {
    if (page[3]) return page[3].some(function (r) { return p.roles.indexOf(r) >= 0; });
    return !page[2] || !!p.perms[page[2]];
  }
  function notAllowed(title, why) {
    return [el("h1", { text: title }), el("p", { class: "error", role: "alert", text: "Not allowed: " + why }), el("p", { class: "hint", text: "Sign in with a key or token that may use this page." })];
  }
  /** A page of one merchant's objects opened by a token acting across merchants, before a merchant is picked: nothing is asked of the API. */
  function chooseMerchant(title, what) {
    return [el("h1", { text: title }),
      el("p", { id: "choose-merchant", text: "Choose a merchant first: this page shows " + what + ". Type the merchant's id (acct_...) in the Merchant field above and press Enter." }),
      button("Go to the Merchant field", function () { var m = document.getElementById("merchant"); if (m) m.focus(); })];
  }

  async function render(path, params, frame) {
    var parts = path.split("/").filter(Boolean);
    var page = PAGES.filter(function (pg) { return pg[0] === (parts[0] || "payments"); })[0];
    var p = principal();
    if (page && !allowed(page, p)) {
      return notAllowed(page[1], page[3] ? "only " + page[3].join(" and ") + " users may see the " + page[1].toLowerCase() + "." : "this key or token lacks the permission " + page[2] + ".");
    }
    var picked = sessionStorage.getItem(MERCHANT);
    if (page && p.crossMerchant && !picked) {
      if (ONE_MERCHANT[page[0]]) return chooseMerchant(page[1], "one merchant's " + ONE_MERCHANT[page[0]]);
      // A payment opened by its address alone (the list's rows name its merchant).
      if (page[0] === "payments" && parts[1] && !params.get("merchant")) return chooseMerchant("Payment " + decodeURIComponent(parts[1]), "a payment of the merchant you choose");
    }
    switch (parts[0] || "payments") {
      case "payments": return parts[1] ? payment(decodeURIComponent(parts[1]), params, frame) : payments(params, frame);
      case "failed": return failed(params, frame);
      case "approvals": return approvals(params, frame);
      case "webhooks": return parts[1] ? deliveries(decodeURIComponent(parts[1]), params, frame) : webhooks(params, frame);
      case "events": return simpleList("Events", "/v1/events?limit=50", [["Event", function (e) { return e.id; }], ["Type", function (e) { return e.type; }], ["Created", function (e) { return when(e.created); }],
        ["", function (e) { return can("webhooks.manage") ? button("Resend", function () { act("Resend " + e.id, function () { return api("POST", "/v1/events/" + encodeURIComponent(e.id) + "/retry", {}); }); }, "Resend " + e.id) : ""; }]], "/events", params, "id", frame);
      case "customers": return simpleList("Customers", "/v1/customers?limit=50", [["Customer", function (c) { return c.id; }], ["Name", function (c) { return c.name; }, "long"], ["Email", function (c) { return c.email; }, "long"], ["Created", function (c) { return when(c.created); }]], "/customers", params, "id", frame);
      case "subscriptions": return simpleList("Subscriptions", "/v1/subscriptions?limit=50", [["Subscription", function (s) { return s.id; }], ["Customer", function (s) { return s.customer; }], ["Status", function (s) { return s.status; }], ["Period end", function (s) { return when(s.current_period_end); }]], "/subscriptions", params, "id", frame);
      case "health": return health(frame);
      case "keys": return simpleList("API keys", "/v1/api_keys?limit=100", [["Key id", function (k) { return k.id; }], ["Type", function (k) { return k.type; }], ["Name", function (k) { return k.name; }], ["Key (redacted)", function (k) { return k.redacted; }], ["Last used", function (k) { return when(k.last_used); }], ["Works until", function (k) { return k.revoked && !k.expires_at ? "revoked" : k.expires_at ? when(k.expires_at) : ""; }]], "/keys", params, "id", frame);
      case "audit": return simpleList("Audit log", "/v1/admin/audit_log?limit=100", [["When", function (a) { return when(a.created); }], ["Actor", function (a) { return a.actor; }], ["Action", function (a) { return a.action; }], ["Object", function (a) { return a.object_id; }], ["Status", function (a) { return a.http_status; }]], "/audit", params, "cursor", frame);
      default: return [el("h1", { text: "Not found" })];
    }
  }

  /**
   * The header and the page links, made once per sign-in (so that routing never takes the focus away
   * from them); routing marks the current link. The header's text says who is signed in, and takes the
   * focus after signing in: the next Tab goes to Sign out, then the page links, then the page.
   */
  var shownFor = null;
  function chrome(p, path) {
    if (shownFor !== credential()) {
      shownFor = credential();
      who.textContent = "";
      who.appendChild(el("span", { id: "who-text", tabindex: "-1", text: "Signed in with a " + p.label }));
      who.appendChild(button("Sign out", function () { signOut(null); }));
      nav.textContent = "";
      PAGES.filter(function (pg) { return allowed(pg, p); }).forEach(function (pg) { nav.appendChild(el("a", { href: "#/" + pg[0], text: pg[1], "data-page": pg[0] })); });
      if (p.crossMerchant) {
        var m = el("input", { id: "merchant", value: sessionStorage.getItem(MERCHANT) || "", placeholder: "acct_... (for merchant pages)" });
        m.onchange = function () { if (m.value.trim()) sessionStorage.setItem(MERCHANT, m.value.trim()); else sessionStorage.removeItem(MERCHANT); flash(""); route(); };
        nav.appendChild(el("label", { for: "merchant", text: "Merchant" }));
        nav.appendChild(m);
      }
    }
    Array.prototype.forEach.call(nav.querySelectorAll("a"), function (a) {
      var current = path.indexOf("/" + a.getAttribute("data-page")) === 0;
      a.className = current ? "current" : "";
      if (current) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
    });
  }

  // Each routing counts: a page that finishes loading after another was asked for is dropped.
  var routing = 0;
  /** Shows the page of the address; `focus`: "heading" moves the focus to the new page's heading (after a link or an action), "who" to the header (after signing in). */
  async function route(focus) {
    var mine = ++routing;
    var hash = location.hash.replace(/^#/, "") || "/payments";
    var path = hash.split("?")[0];
    var params = new URLSearchParams(hash.split("?")[1] || "");
    if (!credential()) return signIn();
    if (!known() && !isJwt(credential())) {
      // Signed in before what a key may do was kept: ask the API now.
      main.textContent = "Loading…";
      var checked = await identify(credential()).catch(function (e) { return { why: "the gateway could not be reached (" + e.message + ")." }; });
      if (checked && checked.refused) return signOut("Signed out: the API does not accept this key or token (" + checked.why + ").", true);
      if (mine !== routing) return;
      if (checked) {
        // Nothing was checked (too many attempts, a server error): nothing is offered until it is.
        main.textContent = "";
        main.appendChild(el("p", { id: "page-error", class: "error", role: "alert", tabindex: "-1", text: "Could not check what this key may do: " + checked.why }));
        main.appendChild(el("p", { class: "error-ways" }, button("Try again", function () { route("heading"); })));
        titled();
        return;
      }
    }
    var p = principal();
    chrome(p, path);
    main.textContent = "Loading…";
    var nodes;
    // What a page shows before asking the API (its heading, its filters): kept when the API answers an error.
    var frame = { head: null };
    try {
      nodes = await render(path, params, frame);
    } catch (e) {
      if (e.signedOut) return;
      nodes = failedPage(path, params, frame, e);
    }
    if (mine !== routing) return;
    main.textContent = "";
    nodes.forEach(function (n) { if (n) main.appendChild(n); });
    titled();
    if (focus === "heading") {
      var heading = main.querySelector("h1") || main.querySelector("[role=alert]");
      if (heading) {
        if (!heading.hasAttribute("tabindex")) heading.setAttribute("tabindex", "-1");
        heading.focus();
      }
    } else if (focus === "who") {
      document.getElementById("who-text").focus();
    }
  }

  /**
   * The tab's title says which page is shown (its heading) and, first, when the page shows an error
   * (what a screen reader announces as the page changes): "Error: Failed payments – Dashboard".
   */
  function titled() {
    var heading = main.querySelector("h1");
    var name = heading ? heading.textContent.trim() : "";
    // The page's error (#page-error), a page not allowed, a sign-in refused: an alert with words in it.
    document.title = (main.querySelector(".error[role=alert]:not(:empty)") ? "Error: " : "") + (name ? name + " – " : "") + "Dashboard";
  }

  /** An error in words: a 5xx or an unreachable gateway is said as such, not only as a number. */
  function problemOf(e) {
    // A merchant's page asked for without one (the API words it for API callers: a header the operator cannot set here).
    if (e.code === "merchant_required") return "Choose a merchant first: type its id (acct_...) in the Merchant field above and press Enter.";
    if (e.status === 403) return "Not allowed: " + e.message;
    if (e.status === 429) return "Too many requests: the gateway asks to slow down. Wait a moment and try again. (" + e.message + ")";
    if (e.status >= 500) {
      var said = e.message && e.message !== "HTTP " + e.status ? " It said: " + e.message : "";
      return "The gateway failed to answer this page (a server error, HTTP " + e.status + "). Try again in a moment; if it persists, check the gateway's logs." + said;
    }
    if (!e.status) return "The gateway could not be reached (" + e.message + "). Check the connection and try again.";
    return e.message;
  }
  /**
   * A page whose list the API did not give: its heading and filters as they were (so that a search can
   * be corrected), the error under them, a way to try again and, on a later page or with filters, back to the first page.
   */
  function failedPage(path, params, frame, e) {
    var page = PAGES.filter(function (pg) { return pg[0] === (path.split("/").filter(Boolean)[0] || "payments"); })[0];
    var head = frame.head || [el("h1", { text: page ? page[1] : "Not found" })];
    var ways = el("p", { class: "error-ways" }, button("Try again", function () { flash(""); route("heading"); }));
    var filtered = params.get("after") || params.get("page") || params.get("q") || params.get("status") || params.get("resolution");
    if (filtered && path.split("/").filter(Boolean).length === 1) {
      var first = new URLSearchParams(params);
      first.delete("after");
      first.delete("page");
      // A bad cursor: the same list from its first page; a refused search: the list without it.
      var keep = params.get("after") || params.get("page") ? first.toString() : "";
      var href = "#" + path + (keep ? "?" + keep : "");
      ways.appendChild(el("a", { id: "first-page", href: href === location.hash ? "#" + path : href, text: params.get("after") || params.get("page") ? "Back to the first page" : "Clear the search" }));
    }
    return head.concat([el("p", { id: "page-error", class: "error", role: "alert", tabindex: "-1", text: problemOf(e) }), ways]);
  }

  /** Forgets the credential (and the merchant picked) and shows the sign-in form, with why when it was not by choice; `keepPlace`: signing in again comes back to this page. */
  function signOut(message, keepPlace) {
    sessionStorage.removeItem(KEY);
    sessionStorage.removeItem(KNOWN);
    sessionStorage.removeItem(MERCHANT);
    if (!keepPlace && location.hash) history.replaceState(null, "", location.pathname + location.search);
    signIn(message);
  }

  function signIn(message) {
    routing++;
    shownFor = null;
    nav.textContent = "";
    who.textContent = "";
    main.textContent = "";
    var input = el("input", { id: "credential", type: "password", autocomplete: "off", required: "required" });
    var error = message ? el("p", { id: "signin-error", class: "error", role: "alert", text: message }) : null;
    if (error) {
      input.setAttribute("aria-invalid", "true");
      input.setAttribute("aria-describedby", "signin-error");
    }
    var submit = el("button", { type: "submit", text: "Sign in" });
    main.appendChild(el("form", { class: "signin", onsubmit: async function (e) {
      e.preventDefault();
      var candidate = input.value.trim();
      submit.disabled = true;
      var why;
      try {
        var checked = await identify(candidate);
        why = checked ? checked.why : null;
      } catch (err) {
        why = "the gateway could not be reached (" + err.message + ")";
      }
      // Kept only once the API accepted it (a 2xx): a refusal, a 429 or a 5xx keeps nothing.
      if (why) return signIn("Not signed in: " + why);
      sessionStorage.setItem(KEY, candidate);
      route("who");
    } }, el("h1", { text: "Sign in" }), error, el("label", { for: "credential", text: "API key or token" }), input,
      el("p", { class: "hint", text: "A secret key (sk_...), a restricted key (rk_...) or a JWT. It stays in this tab's session storage and is sent only to this gateway's API." }),
      submit));
    titled();
    // The first field has the focus as the form opens (and again after a refusal).
    input.focus();
  }

  // Another page: the status line's message was about the last one (the page shown again after an action keeps it).
  window.addEventListener("hashchange", function () { flash(""); route("heading"); });
  route();
})();
