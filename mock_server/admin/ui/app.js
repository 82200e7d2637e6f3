// The Sales mock admin UI: plain DOM, same-origin JSON calls to /__admin, no external code.
// Text from requests (paths, bodies, headers) is only ever set as textContent, never as HTML.
"use strict";

const API = "/__admin";
const TOKEN_KEY = "sales-mock-admin-token";
const state = { entityId: null, entities: [], entryId: null, entry: null, timer: null };

function $(id) { return document.getElementById(id); }

function el(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

function say(text, isError) {
  const status = $("status");
  status.textContent = text;
  status.className = isError ? "error" : "";
}

class NeedsToken extends Error {}

async function call(method, path, body) {
  const headers = { "Accept": "application/json" };
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers["Authorization"] = "Bearer " + token;
  const init = { method, headers, credentials: "same-origin" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = typeof body === "string" ? body : JSON.stringify(body);
  }
  const answer = await fetch(API + path, init);
  if (answer.status === 401) {
    $("token-form").hidden = false;
    say("the admin API needs the token", true);
    throw new NeedsToken("token needed");
  }
  const text = await answer.text();
  const data = text ? JSON.parse(text) : null;
  if (!answer.ok) {
    const message = (data && data.error) || ("HTTP " + answer.status);
    // details the message does not already say (a one-field error names its field in the message)
    const extra = ((data && data.details) || []).map((d) => d.path + ": " + d.message).filter((d) => !message.includes(d));
    throw new Error(message + (extra.length ? " — " + extra.join("; ") : ""));
  }
  return data;
}

async function attempt(action, done) {
  try {
    const result = await action();
    if (done) say(done, false);
    return result;
  } catch (error) {
    if (!(error instanceof NeedsToken)) say(error.message, true);
    return undefined;
  }
}

// Digits after the decimal point per ISO 4217 currency (the API's money is integer minor units;
// docs/money.md). The one table of the UI: every money figure goes through money().
const CURRENCY_EXPONENTS = {
  BIF: 0, CLP: 0, DJF: 0, GNF: 0, JPY: 0, KMF: 0, KRW: 0, MGA: 0, PYG: 0, RWF: 0, UGX: 0, VND: 0, VUV: 0,
  XAF: 0, XOF: 0, XPF: 0,
  BHD: 3, JOD: 3, KWD: 3, OMR: 3, TND: 3,
};
const DEFAULT_EXPONENT = 2;

// An amount in minor units as text with its currency's exponent: 87683 USD -> "876.83 USD",
// 1078 JPY -> "1,078 JPY", 12500 KWD -> "12.500 KWD". Exact for every safe integer (no float division).
function money(minor, currency) {
  if (!Number.isSafeInteger(minor)) return "";
  const exponent = CURRENCY_EXPONENTS[currency] ?? DEFAULT_EXPONENT;
  const digits = String(Math.abs(minor)).padStart(exponent + 1, "0");
  const whole = digits.slice(0, digits.length - exponent).replace(/\B(?=(\d{3})+$)/g, ",");
  const fraction = exponent ? "." + digits.slice(digits.length - exponent) : "";
  return (minor < 0 ? "-" : "") + whole + fraction + (currency ? " " + currency : "");
}

// The first instant of the month after `now` (an RFC 3339 UTC instant): a sensible "advance to" example.
function nextMonth(now) {
  const at = new Date(now);
  if (Number.isNaN(at.getTime())) return "";
  return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + 1, 1)).toISOString().replace(".000Z", "Z");
}

// ---- entities, clocks, invoices ----

async function loadEntities() {
  const answer = await call("GET", "/entities");
  state.entities = answer.data;
  if (!state.entities.some((e) => e.entityId === state.entityId)) {
    state.entityId = state.entities.length ? state.entities[0].entityId : null;  // the first: the demo entity
  }
  const body = $("entities").tBodies[0];
  body.replaceChildren(...state.entities.map((e) => el("tr", {
    class: "clickable" + (e.entityId === state.entityId ? " selected" : ""),
    "data-entity": e.entityId,
    onclick: () => { state.entityId = e.entityId; refresh(); },
  }, el("td", {}, e.name), el("td", { class: "mono" }, e.entityId), el("td", {}, e.baseCurrency),
     el("td", {}, e.now + (e.frozen ? " (frozen)" : "")), el("td", {}, e.entityId === state.entityId ? "selected" : ""))));
  for (const select of [$("f-entity"), $("stub-entity")]) {
    const keep = select.id === "stub-entity" ? state.entityId : select.value;
    const first = select.id === "f-entity" ? [el("option", { value: "" }, "any")] : [];
    select.replaceChildren(...first, ...state.entities.map((e) => el("option", { value: e.entityId }, e.name + " · " + e.entityId.slice(0, 8))));
    if (keep) select.value = keep;
  }
}

async function loadEntity() {
  const panel = $("entity");
  const entity = state.entities.find((e) => e.entityId === state.entityId);
  panel.hidden = !entity;
  if (!entity) return;
  const clock = await call("GET", `/entities/${entity.entityId}/clock`);
  $("entity-name").textContent = entity.name;
  $("entity-now").textContent = clock.now;
  $("entity-frozen").textContent = clock.frozen ? "(frozen)" : "(running)";
  $("advance-to").placeholder = nextMonth(clock.now);
  const invoices = (await call("GET", `/entities/${entity.entityId}/invoices`)).data;
  const body = $("invoices").tBodies[0];
  if (!invoices.length) {
    body.replaceChildren(el("tr", {}, el("td", { colspan: "7", class: "muted" }, "no invoices yet")));
    return;
  }
  body.replaceChildren(...invoices.map((inv) => el("tr", { "data-invoice": inv.id },
    el("td", {}, inv.number), el("td", { class: "invoice-status" }, inv.status),
    el("td", {}, inv.periodStart + " – " + inv.periodEnd), el("td", {}, inv.dueDate),
    el("td", {}, money(inv.total, inv.currency)), el("td", {}, money(inv.amountDue, inv.currency)),
    el("td", {}, ["open", "past_due"].includes(inv.status)
      ? el("button", { class: "pay", onclick: () => pay(inv) }, "Pay") : ""))));
}

async function advance(body, label) {
  await attempt(async () => {
    await call("POST", `/entities/${state.entityId}/clock/advance`, body);
    await refresh();
  }, "clock advanced " + label);
}

async function pay(invoice) {
  await attempt(async () => {
    await call("POST", `/entities/${state.entityId}/invoices/${invoice.id}/pay`);
    await refresh();
  }, "paid invoice " + invoice.number);
}

// ---- journal ----

function journalQuery() {
  const entity = $("f-entity").value;
  return "/requests?limit=500" + (entity ? "&entityId=" + encodeURIComponent(entity) : "");
}

function flag(value) {
  if (value === true) return el("span", { class: "ok", title: "matches the spec" }, "✓ spec");
  if (value === false) return el("span", { class: "bad", title: "does not match the spec" }, "✗ spec");
  return el("span", { class: "muted" }, "–");
}

async function loadJournal() {
  const entries = (await call("GET", journalQuery())).data;
  const method = $("f-method").value, path = $("f-path").value, status = $("f-status").value;
  const stubbed = $("f-stubbed").checked;
  const shown = entries.filter((e) => (!method || e.method === method) && (!path || e.path.includes(path))
    && (!status || String(e.status).startsWith(status)) && (!stubbed || e.stubId));
  $("journal").tBodies[0].replaceChildren(...shown.map((e) => el("tr", {
    class: "clickable" + (e.id === state.entryId ? " selected" : ""), "data-entry": String(e.id),
    onclick: () => openEntry(e.id),
  }, el("td", {}, e.time.slice(11, 23)), el("td", {}, e.method), el("td", { class: "mono" }, e.path + (e.query ? "?" + e.query : "")),
     el("td", {}, e.operationId || ""), el("td", { class: "s" + String(e.status)[0] }, e.status),
     el("td", {}, flag(e.requestValid)), el("td", {}, flag(e.responseValid)),
     el("td", {}, e.stubId ? el("span", { class: "stub", title: e.stubId }, "stub") : ""), el("td", {}, e.durationMs))));
}

function show(message) {
  const head = Object.entries(message.headers).map(([k, v]) => k + ": " + v).join("\n")
    + (message.headersTruncated ? "\n… (headers cut at 64 KiB)" : "");
  let body = message.body;
  try { body = JSON.stringify(JSON.parse(body), null, 2); } catch (_) { /* not JSON: as sent */ }
  return head + "\n\n" + body + (message.bodyTruncated ? "\n… (cut at 64 KiB)" : "");
}

async function openEntry(id) {
  await attempt(async () => {
    const entry = await call("GET", "/requests/" + id);
    state.entryId = id;
    state.entry = entry;
    $("exchange").hidden = false;
    $("exchange-title").textContent = `#${entry.id} ${entry.method} ${entry.path} → ${entry.status}`;
    $("exchange-request").textContent = show(entry.request);
    $("exchange-response").textContent = show(entry.response);
    await loadJournal();
  });
}

function stubFromEntry() {
  const entry = state.entry;
  if (!entry) return;
  let jsonBody;
  try { jsonBody = JSON.parse(entry.response.body); } catch (_) { jsonBody = undefined; }
  const stub = { request: { method: entry.method, urlPath: entry.path }, response: { status: entry.status } };
  if (jsonBody !== undefined) stub.response.jsonBody = jsonBody;
  if (entry.entityId) state.entityId = entry.entityId;
  $("stub-json").value = JSON.stringify(stub, null, 2);
  location.hash = "#stubs";
}

// ---- stubs ----

function describeRequest(r) {
  return [r.method, r.urlPath || ("~" + r.urlPathPattern), r.operationId ? "(" + r.operationId + ")" : ""].join(" ");
}

async function loadStubs() {
  const entity = $("stub-entity").value || state.entityId;
  if (!entity) return;
  const stubs = (await call("GET", `/entities/${entity}/stubs`)).data;
  const body = $("stubs").tBodies[0];
  if (!stubs.length) {
    body.replaceChildren(el("tr", {}, el("td", { colspan: "5", class: "muted" }, "no stubs")));
    return;
  }
  body.replaceChildren(...stubs.map((s) => el("tr", { "data-stub": s.id },
    el("td", {}, s.priority || 5), el("td", { class: "mono" }, describeRequest(s.request)),
    el("td", { class: "mono" }, s.response.status + " " + JSON.stringify(s.response.jsonBody ?? "").slice(0, 80)),
    el("td", {}, s.remaining === null ? "∞" : s.remaining),
    el("td", {}, el("button", { onclick: () => deleteStub(entity, s.id) }, "Delete")))));
}

async function deleteStub(entity, id) {
  await attempt(async () => { await call("DELETE", `/entities/${entity}/stubs/${id}`); await loadStubs(); }, "stub deleted");
}

async function createStub() {
  const entity = $("stub-entity").value;
  await attempt(async () => {
    let definition;
    try { definition = JSON.parse($("stub-json").value); } catch (error) { throw new Error("the stub is not valid JSON: " + error.message); }
    const stub = await call("POST", `/entities/${entity}/stubs`, definition);
    await loadStubs();
    return stub;
  }, "stub created");
}

// ---- faults and state ----

async function loadFaults() {
  const faults = await call("GET", "/faults");
  if (document.activeElement !== $("faults-json")) $("faults-json").value = JSON.stringify(faults, null, 2);
}

async function exportState() {
  await attempt(async () => {
    const text = JSON.stringify(await call("GET", "/state"), null, 1);
    const link = $("state-download");
    link.href = URL.createObjectURL(new Blob([text], { type: "application/json" }));
    link.hidden = false;
    link.textContent = "download (" + text.length + " bytes)";
  }, "state exported");
}

async function importState() {
  const file = $("state-file").files[0];
  if (!file) { say("choose a state file first", true); return; }
  await attempt(async () => { await call("PUT", "/state", await file.text()); await refresh(); }, "state imported");
}

// ---- tabs ----

const LOADERS = {
  entities: async () => { await loadEntities(); await loadEntity(); },
  journal: async () => { await loadEntities(); await loadJournal(); },
  stubs: async () => { await loadEntities(); await loadStubs(); },
  faults: loadFaults,
  state: async () => {},
};

function tab() {
  const name = location.hash.slice(1);
  return name in LOADERS ? name : "entities";
}

async function refresh() {
  const name = tab();
  for (const key of Object.keys(LOADERS)) $("tab-" + key).hidden = key !== name;
  for (const link of document.querySelectorAll("nav a")) link.classList.toggle("active", link.dataset.tab === name);
  await attempt(LOADERS[name]);
}

function start() {
  $("advance-day").addEventListener("click", () => advance({ days: 1 }, "by a day"));
  $("advance-month").addEventListener("click", () => advance({ months: 1 }, "by a month"));
  $("advance-to-go").addEventListener("click", () => {
    const to = $("advance-to").value.trim();
    if (!to) { say("enter an instant to advance to, e.g. " + $("advance-to").placeholder, true); return; }
    advance({ to }, "to " + to);
  });
  for (const id of ["f-entity", "f-method", "f-status", "f-stubbed"]) $(id).addEventListener("change", () => attempt(loadJournal));
  $("f-path").addEventListener("input", () => attempt(loadJournal));
  $("journal-clear").addEventListener("click", () => attempt(async () => { await call("DELETE", "/requests"); await loadJournal(); }, "journal cleared"));
  $("stub-from-entry").addEventListener("click", stubFromEntry);
  $("stub-entity").addEventListener("change", () => { state.entityId = $("stub-entity").value; attempt(loadStubs); });
  $("stub-create").addEventListener("click", createStub);
  $("faults-save").addEventListener("click", () => attempt(async () => {
    let rules;
    try { rules = JSON.parse($("faults-json").value); } catch (error) { throw new Error("the rules are not valid JSON: " + error.message); }
    $("faults-json").value = JSON.stringify(await call("PUT", "/faults", rules), null, 2);
  }, "fault rules saved"));
  $("faults-clear").addEventListener("click", () => attempt(async () => { await call("DELETE", "/faults"); $("faults-json").blur(); await loadFaults(); }, "faults removed"));
  $("state-export").addEventListener("click", exportState);
  $("state-import").addEventListener("click", importState);
  $("state-reset").addEventListener("click", () => {
    if (confirm("Reset every entity to the start-up fixtures? Stubs, faults and the journal are cleared.")) {
      attempt(async () => { await call("POST", "/reset"); state.entityId = null; await refresh(); }, "reset done");
    }
  });
  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $("token").value.trim());
    $("token-form").hidden = true;
    say("", false);
    refresh();
  });
  if (!$("stub-json").value) {
    $("stub-json").value = JSON.stringify({ request: { method: "GET", urlPath: "/api/sales/plans" },
      response: { status: 200, jsonBody: { data: [] } } }, null, 2);
  }
  window.addEventListener("hashchange", () => { say("", false); refresh(); });  // a message belongs to its tab
  state.timer = setInterval(() => {
    if (tab() === "journal" && $("f-live").checked) attempt(loadJournal);
    if (tab() === "entities" && state.entityId) attempt(loadEntity);
  }, 2000);
  refresh();
}

document.addEventListener("DOMContentLoaded", start);
