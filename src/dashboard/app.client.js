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
    if (k) return { label: label, kind: k.kind, roles: k.roles || [], perms: setOf(k.permissions), crossMerchant: !!k.crossMerchant };
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

  function el(tag, attrs) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k];
      else if (k === "onclick" || k === "onsubmit" || k === "onchange" || k === "onkeydown") node[k] = attrs[k];
      else if (k === "style") node.style.cssText = attrs[k]; // CSSOM: allowed by the page's CSP, unlike a style attribute
      else node.setAttribute(k, attrs[k]);
    });
    for (var i = 2; i < arguments.length; i++) {
      var child = arguments[i];
      if (child === null || child === undefined || child === false) continue;
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    }
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

  function newKey() { return "dashboard-" + Date.now() + "-" + Math.random().toString(36).slice(2); }
  /** The API's error as an Error, with its HTTP status. */
  function errorOf(res, json) {
    var error = new Error((json.error && json.error.message) || json.detail || json.message || "HTTP " + res.status);
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
    var res = await fetch(path, { method: method, headers: headers, body: body ? JSON.stringify(body) : undefined, credentials: "omit" });
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
   * Who the API says `candidate` is, kept in KNOWN: GET /v1/credential answers its kind (a person's
   * token or an API key), roles and permissions (a restricted key's are in its record on the server,
   * not in the key). A gateway that does not answer that: GET /v1/account tells whether the credential
   * is accepted and may view payments; a secret key holds every merchant permission, a restricted key is
   * offered viewing payments at most, and a token is read from its claims. Resolves to why the API
   * refuses the credential (401), or null once it is accepted (a 403 too: valid, just not allowed there).
   */
  async function identify(candidate) {
    var headers = { Authorization: "Bearer " + candidate, Accept: "application/json" };
    sessionStorage.removeItem(KNOWN);
    var res = await fetch("/v1/credential", { headers: headers, credentials: "omit" });
    var json = await res.json().catch(function () { return {}; });
    if (res.status === 401) return errorOf(res, json).message;
    if (res.ok && Array.isArray(json.permissions)) {
      sessionStorage.setItem(KNOWN, JSON.stringify({ kind: json.kind === "jwt" ? "jwt" : "api_key", roles: Array.isArray(json.roles) ? json.roles : [], permissions: json.permissions, crossMerchant: json.cross_merchant === true }));
      return null;
    }
    res = await fetch("/v1/account", { headers: headers, credentials: "omit" });
    if (res.status === 401) return errorOf(res, await res.json().catch(function () { return {}; })).message;
    if (!isJwt(candidate)) {
      var permissions = candidate.indexOf("sk_") === 0 ? ALL : res.status === 403 ? [] : ["payments.transactions.view"];
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
   * button that acted, else to the status line (never lost to the page's body).
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
      route("heading");
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

  function table(columns, rows, onRow) {
    var head = el("tr", null);
    columns.forEach(function (c) { head.appendChild(el("th", { text: c[0] })); });
    var body = el("tbody", null);
    rows.forEach(function (r) {
      var tr = el("tr", null);
      columns.forEach(function (c) {
        var v = c[1](r);
        // c[2]: the cell's class ("long": a long value that wraps within a width, "acts": buttons kept on one line).
        var text = v instanceof Node ? v : String(v === null || v === undefined ? "" : v);
        tr.appendChild(el("td", c[2] ? { class: c[2] } : null, c[2] === "long" && text ? el("span", { class: "long" }, text) : text));
      });
      if (onRow) {
        // Opened by mouse, or from the keyboard: the row takes focus (Tab) and opens on Enter or Space.
        tr.className = "link";
        tr.tabIndex = 0;
        tr.onclick = function () { onRow(r); };
        // Only the row's own keys: Enter on a button in the row presses the button.
        tr.onkeydown = function (e) { if (e.target === tr && (e.key === "Enter" || e.key === " ")) { e.preventDefault(); onRow(r); } };
      }
      body.appendChild(tr);
    });
    if (!rows.length) body.appendChild(el("tr", null, el("td", { colspan: String(columns.length), text: "Nothing here." })));
    // Wider than a phone: the table scrolls sideways inside its own area, the page never does.
    return el("div", { class: "table-wrap" }, el("table", null, el("thead", null, head), body));
  }
  function button(label, onclick) { return el("button", { type: "button", onclick: onclick, text: label }); }

  /**
   * The second step of an action that moves money or cannot be undone: what it will do, the amount
   * named, in `box`; only the first button acts, the other takes the question back (and the focus to
   * `opener`, the button that asked). The focus goes to the question.
   */
  function confirmStep(box, question, yesLabel, noLabel, onYes, opener) {
    box.textContent = "";
    var text = el("p", { id: "confirm-question", tabindex: "-1", text: question });
    function no() {
      box.textContent = "";
      if (opener && opener.isConnected) opener.focus();
    }
    // The second click of a double click (detail 2) is the same answer: it does not act again.
    box.appendChild(el("div", { class: "confirm", role: "group", "aria-labelledby": "confirm-question", onkeydown: function (e) {
      // Escape takes the question back, as its second button does.
      if (e.key === "Escape" || e.key === "Esc") { e.preventDefault(); e.stopPropagation(); no(); }
    } }, text,
      button(yesLabel, function (e) { if (e && e.detail > 1) return; onYes(); }),
      button(noLabel, no)));
    text.focus();
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

  async function payments(params, frame) {
    var status = params.get("status") || "";
    var search = params.get("q") || "";
    var form = el("form", { class: "filters", role: "search", onsubmit: function (e) {
      e.preventDefault();
      var q = form.querySelector("[name=q]").value.trim();
      if (/^pi_/.test(q)) { location.hash = "#/payments/" + encodeURIComponent(q); return; }
      location.hash = "#/payments?status=" + encodeURIComponent(form.querySelector("[name=status]").value) + "&q=" + encodeURIComponent(q);
    } },
      el("label", null, "Status ", el("select", { name: "status" }, ["", "requires_payment_method", "requires_capture", "requires_action", "processing", "succeeded", "canceled", "failed"].map(function (s) {
        var o = el("option", { value: s, text: s || "any" }); if (s === status) o.selected = true; return o;
      }).reduce(function (f, o) { f.appendChild(o); return f; }, document.createDocumentFragment()))),
      el("label", null, "Search ", el("input", { name: "q", value: search, placeholder: "pi_..., order id or customer" })),
      el("button", { type: "submit", text: "Search" }));
    var query = "limit=50" + (status ? "&status=" + encodeURIComponent(status) : "");
    if (search) query += /^cus_/.test(search) ? "&customer=" + encodeURIComponent(search) : "&order_id=" + encodeURIComponent(search);
    // Shown with an error too: the search can be corrected.
    frame.head = [el("h1", { text: "Payments" }), form];
    var list = await api("GET", "/v1/admin/payments/search?" + query + afterQuery(params, "cursor"));
    return [el("h1", { text: "Payments" }), form, table([
      ["Payment", function (p) { return p.id; }], ["Amount", function (p) { return money(p.amount, p.currency); }], ["Status", function (p) { return p.status; }],
      ["Refunded", function (p) { return p.amount_refunded ? money(p.amount_refunded, p.currency) : ""; }], ["Order", function (p) { return p.order_id; }],
      ["Merchant", function (p) { return p.merchant_id; }], ["Created", function (p) { return when(p.created); }],
    ], list.data, function (p) { location.hash = paymentHash(p.id, p.merchant_id); }), pager("/payments", params, list)];
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
          act("Capture of " + pi.id, function () { return keyed(keys, "capture", function (key) { return api("POST", "/v1/payment_intents/" + q + "/capture", {}, merchant, key); }); });
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
    if (pi.status === "succeeded" && pi.amount_received > pi.amount_refunded && can("payments.transactions.void")) {
      var remaining = pi.amount_received - pi.amount_refunded;
      var code = String(pi.currency).toUpperCase();
      // Typed in the currency's decimals (5.00 USD, 12.345 KWD, 500 JPY), sent in minor units (minorOf: by digits, no floating point).
      var amount = el("input", { id: "refund-amount", type: "text", inputmode: digitsOf(code) ? "decimal" : "numeric", autocomplete: "off", required: "required", value: decimalOf(remaining, code), "aria-describedby": "refund-hint" });
      var hint = el("span", { id: "refund-hint", class: "hint", text: "In " + code + (digitsOf(code) ? ", up to " + digitsOf(code) + " decimals" : ", no decimals") + "; at most " + money(remaining, code) + "." });
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
          } });
        }, refund);
      } }, el("label", { for: "refund-amount", text: "Refund amount (" + code + ")" }), amount, refund, hint));
      actions.appendChild(wrong);
    }
    actions.appendChild(confirming);
    // The payment method of each attempt, where the intent names it (an attempt's words depend on it).
    var methodTypes = {};
    [pi.payment_method, pi.last_payment_error && pi.last_payment_error.payment_method].forEach(function (pm) { if (pm && typeof pm === "object" && pm.id) methodTypes[pm.id] = pm.type; });
    var timeline = []
      .concat(results[0].data.map(function (t) { return { at: t.created, what: "attempt: " + t.type + " " + t.status, detail: [money(t.amount, pi.currency), t.connector].concat(attemptWords(t, methodTypes[t.payment_method])).filter(Boolean).join(" · ") }; }))
      .concat(results[1].data.map(function (r) { return { at: r.created, what: "refund " + r.id + ": " + r.status, detail: money(r.amount, r.currency) + (r.reason ? " · " + r.reason : "") }; }))
      .concat(results[2].data.map(function (ev) { return { at: ev.created, what: "event: " + ev.type, detail: ev.id }; }))
      .sort(function (a, b) { return (a.at || 0) - (b.at || 0); });
    return [
      backLink(params),
      el("h1", { text: "Payment " + pi.id }),
      el("dl", { class: "facts" },
        el("dt", { text: "Status" }), el("dd", { id: "payment-status", text: pi.status }),
        el("dt", { text: "Amount" }), el("dd", { text: money(pi.amount, pi.currency) }),
        el("dt", { text: "Refunded" }), el("dd", { id: "payment-refunded", text: money(pi.amount_refunded, pi.currency) }),
        el("dt", { text: "Merchant" }), el("dd", { text: pi.merchant_id || "" }),
        el("dt", { text: "Customer" }), el("dd", { text: pi.customer || "" }),
        el("dt", { text: "Order" }), el("dd", { text: pi.order_id || "" }),
        pi.retry_of ? el("dt", { text: "Retry of" }) : null, pi.retry_of ? el("dd", null, el("a", { href: paymentHash(pi.retry_of, pi.merchant_id), text: pi.retry_of })) : null,
        pi.last_payment_error ? el("dt", { text: "Declined" }) : null, pi.last_payment_error ? el("dd", { id: "payment-error", text: [pi.last_payment_error.decline_code || pi.last_payment_error.code, pi.last_payment_error.message].filter(Boolean).join(": ") }) : null),
      actions,
      el("h2", { text: "Timeline" }),
      table([["When", function (t) { return when(t.at); }], ["What", function (t) { return t.what; }], ["Details", function (t) { return t.detail; }]], timeline),
    ];
  }

  /**
   * A row's action behind a confirmation: `ask` opens the question; `what` names the action and its
   * object in the status line; the action's key is kept in `keys` until the API answered (see keyed).
   */
  function confirmed(box, keys, label, question, yesLabel, noLabel, call, what, o) {
    var ask = button(label, function (e) {
      e.stopPropagation();
      confirmStep(box, question, yesLabel, noLabel, function () { act(what, function () { return keyed(keys, label, call); }, o); }, ask);
    });
    return ask;
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

  async function failed(params, frame) {
    frame.head = [el("h1", { text: "Failed payments" })];
    var list = await api("GET", "/v1/admin/failed_payments?limit=50" + afterQuery(params, "cursor"));
    var rows = list.data || [];
    var across = principal().crossMerchant;
    // Where a row's action asks to be confirmed: retrying charges the amount again; resolving and dismissing cannot be undone.
    var confirming = el("div", { id: "confirm-step" });
    var keys = {};
    // The actions come first (on a phone they are in view with the payment's id next to them, which wraps);
    // a row opens the payment's page (its attempts and their answers).
    var columns = [
      ["", function (p) {
        if (!can("payments.transactions.create")) return "";
        var amount = money(p.amount, p.currency);
        var path = "/v1/admin/failed_payments/" + encodeURIComponent(p.id) + "/";
        var mine = keys[p.id] || (keys[p.id] = {});
        return el("span", { class: "row-actions" },
          confirmed(confirming, mine, "Retry", "Retry the failed payment " + p.id + " of " + amount + "? A new payment of " + amount + " is made with the same payment method.", "Yes, retry " + amount, "Do not retry",
            function (key) { return api("POST", path + "retry", {}, p.merchant_id, key); }, "Retry of " + p.id, { done: retryWords.done, failed: retryFailed(p.id) }),
          confirmed(confirming, mine, "Resolve", "Mark the failed payment " + p.id + " of " + amount + " as resolved? It leaves the open failed payments for good: this cannot be undone.", "Yes, resolve", "Keep it open",
            function (key) { return api("POST", path + "resolve", { reason: "dashboard" }, p.merchant_id, key); }, "Resolve " + p.id),
          confirmed(confirming, mine, "Dismiss", "Dismiss the failed payment " + p.id + " of " + amount + "? It leaves the open failed payments for good: this cannot be undone.", "Yes, dismiss", "Keep it open",
            function (key) { return api("POST", path + "dismiss", { reason: "dashboard" }, p.merchant_id, key); }, "Dismiss " + p.id));
      }, "acts"],
      ["Payment", function (p) { return p.id; }, "id"], ["Amount", function (p) { return money(p.amount, p.currency); }, "nowrap"], ["Status", function (p) { return breakable(p.status); }],
      ["Reason", function (p) { return (p.last_payment_error && (p.last_payment_error.decline_code || p.last_payment_error.code)) || ""; }],
      ["Retries", retriesCell, "wrap-id"],
    ];
    if (!can("payments.transactions.create")) columns.shift();
    if (across) columns.push(["Merchant", function (p) { return p.merchant_id; }, "wrap-id"]);
    columns.push(["Created", function (p) { return when(p.created); }, "nowrap"]);
    return [el("h1", { text: "Failed payments" }), confirming, table(columns, rows, function (p) { location.hash = paymentHash(p.id, p.merchant_id, "failed"); }), pager("/failed", params, list)];
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
      ["Refund", function (r) { return r.id; }], ["Payment", function (r) { return r.payment_intent; }], ["Amount", function (r) { return money(r.amount, r.currency); }], ["Status", function (r) { return r.status; }],
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
        return el("span", { class: "row-actions" },
          mayApprove ? confirmed(confirming, mine, "Approve", "Approve the refund " + r.id + " of " + amount + "? The " + amount + " is sent back to the customer.", "Yes, approve refund of " + amount, "Do not approve",
            function (key) { return api("POST", path + "approve", {}, r.merchant_id, key); }, "Approve " + r.id + " (" + amount + " on " + r.payment_intent + ")") : null,
          confirmed(confirming, mine, "Reject", "Reject the refund " + r.id + " of " + amount + "? It is not paid, and cannot be approved later.", "Yes, reject refund", "Keep it waiting",
            function (key) { return api("POST", path + "reject", {}, r.merchant_id, key); }, "Reject " + r.id + " (" + amount + " on " + r.payment_intent + ")"));
      }, "acts"]);
    // A row opens its payment's page.
    return [el("h1", { text: "Refunds awaiting approval" }), confirming, table(columns, rows, function (r) { location.hash = paymentHash(r.payment_intent, r.merchant_id || sessionStorage.getItem(MERCHANT), "approvals"); }), pager("/approvals", params, list)];
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
          function (key) { return api("POST", "/v1/webhook_endpoints/" + encodeURIComponent(w.id) + "/roll_secret", {}, null, key); }, "Roll secret of " + w.id);
      }]],
      list.data || [], function (w) { location.hash = "#/webhooks/" + encodeURIComponent(w.id); }), pager("/webhooks", params, list));
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

  /** "Replay a range": re-sends the endpoint's deliveries created between From and To (To empty: now), oldest first. */
  function replayForm(id) {
    var from = el("input", { id: "replay-from", name: "from", type: "datetime-local", required: "required", value: localInput(new Date(Date.now() - 24 * 3600 * 1000)) });
    var to = el("input", { id: "replay-to", name: "to", type: "datetime-local" });
    var status = el("select", { id: "replay-status", name: "status" }, el("option", { value: "failed", text: "Failed only" }), el("option", { value: "all", text: "All" }));
    var form = el("form", { class: "inline", id: "replay-form", "aria-label": "Replay a range", onsubmit: async function (e) {
      e.preventDefault();
      var body = { created: { gte: unixSeconds(from.value) }, status: status.value };
      var lte = unixSeconds(to.value);
      if (lte !== null) body.created.lte = lte;
      try {
        var sent = 0, calls = 0, res;
        // 500 a call: continue after the last one re-sent while the range has more (at most 20 calls).
        do {
          res = await api("POST", "/v1/webhook_endpoints/" + encodeURIComponent(id) + "/replay", body);
          sent += res.requested;
          calls += 1;
          if (res.deliveries.length) body.starting_after = res.deliveries[res.deliveries.length - 1];
        } while (res.has_more && res.deliveries.length && calls < 20);
        flash("Replay: re-sent " + sent + " deliver" + (sent === 1 ? "y" : "ies") + (res.has_more ? " (more remain: replay again)" : ""), "ok");
        route("heading");
      } catch (err) {
        if (!err.signedOut) flash("Replay: " + err.message, "error");
      }
    } },
      el("strong", { text: "Replay a range" }),
      el("label", { for: "replay-from", text: "From" }), from,
      el("label", { for: "replay-to", text: "To" }), to,
      el("label", { for: "replay-status", text: "Deliveries" }), status,
      el("button", { type: "submit", text: "Replay" }),
      el("span", { class: "hint", text: "At most 14 days; To empty means now." }));
    return form;
  }

  async function deliveries(id, params, frame) {
    frame.head = [el("p", null, el("a", { href: "#/webhooks", text: "← Webhook endpoints" })), el("h1", { text: "Deliveries to " + id })];
    var list = await api("GET", "/v1/webhook_endpoints/" + encodeURIComponent(id) + "/deliveries?limit=100" + afterQuery(params, "id"));
    return [el("p", null, el("a", { href: "#/webhooks", text: "← Webhook endpoints" })), el("h1", { text: "Deliveries to " + id }), can("webhooks.manage") ? replayForm(id) : el("span", null), table([
      ["Delivery", function (d) { return d.id; }], ["Event", function (d) { return d.event; }], ["Status", function (d) { return d.status; }], ["Attempts", function (d) { return d.attempt_count; }], ["Last answer", function (d) { return d.last_status_code || d.last_error || ""; }],
      ["", function (d) { return can("webhooks.manage") ? button("Resend", function () { act("Resend " + d.id, function () { return api("POST", "/v1/webhook_deliveries/" + encodeURIComponent(d.id) + "/retry", {}); }); }) : ""; }],
    ], list.data || []), pager("/webhooks/" + encodeURIComponent(id), params, list)];
  }

  /** A list page: `page` its address, `style` how the API pages it ("cursor": next_cursor; "id": starting_after). */
  async function simpleList(title, path, columns, page, params, style, frame) {
    frame.head = [el("h1", { text: title })];
    var list = await api("GET", path + afterQuery(params, style));
    return [el("h1", { text: title }), table(columns, list.data || []), pager(page, params, list)];
  }

  /** A small chart of the window minute by minute: bars of the success rate, a line of p50 latency. */
  function chart(series) {
    var NS = "http://www.w3.org/2000/svg";
    var w = 300, h = 60, n = Math.max(series.length, 1), bw = w / n;
    function svg(tag, attrs) { var node = document.createElementNS(NS, tag); Object.keys(attrs).forEach(function (k) { node.setAttribute(k, String(attrs[k])); }); return node; }
    var rates = svg("svg", { viewBox: "0 0 " + w + " " + h, width: w, height: h, role: "img", "aria-label": "success rate per minute" });
    rates.appendChild(svg("rect", { x: 0, y: 0, width: w, height: h, fill: "#f6f8fa" }));
    series.forEach(function (p, i) {
      if (p.success_rate === null) return;
      var bh = Math.max(1, Math.round(p.success_rate * (h - 4)));
      var bar = svg("rect", { x: i * bw + 2, y: h - bh, width: bw - 4, height: bh, fill: p.success_rate >= 0.9 ? "#2d9d78" : "#e5424d", class: "point" });
      var title = svg("title", {});
      title.textContent = new Date(p.start * 1000).toISOString().slice(11, 16) + ": " + Math.round(p.success_rate * 100) + "% of " + p.calls;
      bar.appendChild(title);
      rates.appendChild(bar);
    });
    var latencies = series.map(function (p) { return p.p50_latency_ms; });
    var measured = latencies.filter(function (v) { return v !== null && v !== undefined; });
    var max = Math.max.apply(null, measured.concat([1]));
    // No latency measured in the window: said so, not a maximum of nothing.
    var caption = "p50 latency per minute (" + (measured.length ? "max " + max + " ms" : "no data") + ")";
    var lat = svg("svg", { viewBox: "0 0 " + w + " " + h, width: w, height: h, role: "img", "aria-label": caption });
    lat.appendChild(svg("rect", { x: 0, y: 0, width: w, height: h, fill: "#f6f8fa" }));
    var points = [];
    latencies.forEach(function (v, i) { if (v !== null && v !== undefined) points.push((i * bw + bw / 2).toFixed(1) + "," + (h - 2 - (v / max) * (h - 6)).toFixed(1)); });
    if (points.length) lat.appendChild(svg("polyline", { points: points.join(" "), fill: "none", stroke: "#635bff", "stroke-width": 2 }));
    points.forEach(function (xy) { lat.appendChild(svg("circle", { cx: xy.split(",")[0], cy: xy.split(",")[1], r: 3, fill: "#635bff" })); });
    return el("div", { class: "charts" }, el("figure", null, rates, el("figcaption", { text: "Success rate per minute" })), el("figure", null, lat, el("figcaption", { text: caption })));
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
        ["", function (e) { return can("webhooks.manage") ? button("Resend", function () { act("Resend " + e.id, function () { return api("POST", "/v1/events/" + encodeURIComponent(e.id) + "/retry", {}); }); }) : ""; }]], "/events", params, "id", frame);
      case "customers": return simpleList("Customers", "/v1/customers?limit=50", [["Customer", function (c) { return c.id; }], ["Name", function (c) { return c.name; }, "long"], ["Email", function (c) { return c.email; }, "long"], ["Created", function (c) { return when(c.created); }]], "/customers", params, "id", frame);
      case "subscriptions": return simpleList("Subscriptions", "/v1/subscriptions?limit=50", [["Subscription", function (s) { return s.id; }], ["Customer", function (s) { return s.customer; }], ["Status", function (s) { return s.status; }], ["Period end", function (s) { return when(s.current_period_end); }]], "/subscriptions", params, "id", frame);
      case "health": return health(frame);
      case "keys": return simpleList("API keys", "/v1/api_keys?limit=100", [["Key", function (k) { return k.id; }], ["Type", function (k) { return k.type; }], ["Name", function (k) { return k.name; }], ["Key", function (k) { return k.redacted; }], ["Last used", function (k) { return when(k.last_used); }]], "/keys", params, "id", frame);
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
      var refused = await identify(credential()).catch(function () { return null; });
      if (refused) return signOut("Signed out: the API does not accept this key or token (" + refused + ").", true);
      if (mine !== routing) return;
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
    var filtered = params.get("after") || params.get("page") || params.get("q") || params.get("status");
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
        why = await identify(candidate);
      } catch (err) {
        why = "the gateway could not be reached (" + err.message + ")";
      }
      // Kept only once the API accepted it.
      if (why) return signIn("Not signed in: " + why);
      sessionStorage.setItem(KEY, candidate);
      route("who");
    } }, el("h1", { text: "Sign in" }), error, el("label", { for: "credential", text: "API key or token" }), input,
      el("p", { class: "hint", text: "A secret key (sk_...), a restricted key (rk_...) or a JWT. It stays in this tab's session storage and is sent only to this gateway's API." }),
      submit));
    // The first field has the focus as the form opens (and again after a refusal).
    input.focus();
  }

  // Another page: the status line's message was about the last one (the page shown again after an action keeps it).
  window.addEventListener("hashchange", function () { flash(""); route("heading"); });
  route();
})();
