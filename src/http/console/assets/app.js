// The operator console. Plain script, no framework: it calls the /v1 admin API with the
// session cookie and builds every element with textContent, never with HTML strings, so no
// value from a case, an issue or an error can become markup.
"use strict";

const EVENT_TYPES = [
  "jira.issue.created", "jira.issue.updated", "jira.issue.deleted",
  "jira.comment.created", "jira.comment.updated", "jira.comment.deleted",
  "sir.case.changed", "sync.case.requested", "sync.issue.requested",
];
const PAGES = ["health", "mappings", "events", "dead-letters", "doctor"];

// The CSRF token of the session, in memory only: a reload asks the server again.
let csrf = null;

const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v !== undefined && v !== null) node.setAttribute(k, v);
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    node.append(c instanceof Node ? c : String(c));
  }
  return node;
}

class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function api(method, path, body) {
  const headers = {};
  if (method !== "GET") headers["X-CSRF-Token"] = csrf || "";
  const init = { method, headers, credentials: "same-origin" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const r = await fetch(path, init);
  let data = null;
  try { data = await r.json(); } catch (_) { /* 204 and friends */ }
  if (r.status === 401 && path !== "/console/session") showSignIn("Your session ended; sign in again.");
  if (!r.ok) throw new ApiError(r.status, (data && data.error && data.error.message) || ("HTTP " + r.status));
  return data;
}

function flash(text) { $("flash").textContent = text; }

const count = (n, noun) => n + " " + noun + (n === 1 ? "" : "s");

function fillRows(tbody, rows, empty, columns) {
  tbody.replaceChildren();
  if (rows.length === 0) {
    tbody.append(el("tr", {}, el("td", { colspan: columns }, empty)));
    return;
  }
  for (const r of rows) tbody.append(r);
}

function localTime(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  return isNaN(d) ? iso : d.toLocaleString();
}

function ago(secs) {
  if (secs === null || secs === undefined) return "none pending";
  if (secs < 90) return Math.round(secs) + " s";
  if (secs < 5400) return Math.round(secs / 60) + " min";
  return (secs / 3600).toFixed(1) + " h";
}

// ---------------------------------------------------------------- session and navigation

function showSignIn(message) {
  csrf = null;
  $("nav").hidden = true;
  $("sign-out").hidden = true;
  for (const p of PAGES) $(p).hidden = true;
  $("sign-in").hidden = false;
  $("sign-in-error").textContent = message || "";
  $("token").focus();
}

function signedIn(session) {
  csrf = session.csrf_token;
  $("sign-in").hidden = true;
  $("token").value = "";
  $("nav").hidden = false;
  $("sign-out").hidden = false;
  route();
}

async function signIn(event) {
  event.preventDefault();
  $("sign-in-error").textContent = "";
  try {
    signedIn(await api("POST", "/console/session", { token: $("token").value }));
  } catch (e) {
    $("token").value = "";
    $("sign-in-error").textContent = e.status === 401 ? "Sign-in refused: wrong admin token." : "Sign-in failed: " + e.message;
    $("token").focus();
  }
}

async function signOut() {
  try { await api("DELETE", "/console/session"); } catch (_) { /* already gone */ }
  location.hash = "";
  showSignIn("Signed out.");
}

// `moved`: the reader chose another page, so focus goes to its heading (screen readers
// announce it); on the first load focus stays where the browser put it.
function route(moved) {
  if (!csrf) return;
  const page = PAGES.includes(location.hash.slice(1)) ? location.hash.slice(1) : "health";
  for (const p of PAGES) $(p).hidden = p !== page;
  for (const a of document.querySelectorAll("nav a")) {
    if (a.getAttribute("href") === "#" + page) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  flash("");
  LOADERS[page]();
  const heading = $(page).querySelector("h2");
  heading.setAttribute("tabindex", "-1");
  if (moved === true) heading.focus();
}

// ---------------------------------------------------------------- health

function peerText(p) {
  if (p.credentials_refused) return ["fail", "credentials refused: " + (p.last_error || "")];
  if (p.last_error && (!p.last_success_at || p.last_error_at > p.last_success_at)) {
    return ["fail", "unreachable or failing: " + p.last_error];
  }
  if (p.last_success_at) return ["ok", "reachable, credentials accepted (last call " + localTime(p.last_success_at) + ")"];
  return ["warn", "no call made yet"];
}

function chart(counts) {
  const NS = "http://www.w3.org/2000/svg";
  const max = Math.max(1, ...counts);
  const total = counts.reduce((a, b) => a + b, 0);
  const svg = document.createElementNS(NS, "svg");
  svg.setAttribute("viewBox", "0 0 600 100");
  svg.setAttribute("preserveAspectRatio", "none");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", total + " events in the last hour, at most " + Math.max(...counts) + " in one minute");
  const base = document.createElementNS(NS, "line");
  for (const [k, v] of [["x1", 0], ["x2", 600], ["y1", 99], ["y2", 99]]) base.setAttribute(k, v);
  svg.append(base);
  counts.forEach((n, i) => {
    const h = (n / max) * 95;
    const bar = document.createElementNS(NS, "rect");
    bar.setAttribute("x", i * 10 + 1);
    bar.setAttribute("width", 8);
    bar.setAttribute("y", 99 - h);
    bar.setAttribute("height", h);
    const title = document.createElementNS(NS, "title");
    title.textContent = (counts.length - 1 - i) + " min ago: " + n;
    bar.append(title);
    svg.append(bar);
  });
  return svg;
}

async function loadHealth() {
  const list = $("health-list");
  try {
    const [s, dl] = await Promise.all([api("GET", "/v1/status"), api("GET", "/v1/dead-letters?limit=500")]);
    const facts = [];
    const fact = (name, [cls, text]) => facts.push(el("dt", {}, name), el("dd", { class: cls }, text));
    fact("Jira", peerText(s.peers.jira));
    fact("SIR", peerText(s.peers.sir));
    const run = s.poller.last_run;
    if (!run) fact("Poller", ["warn", "has not run yet"]);
    else if (typeof run === "object") fact("Poller", [run.result === "ok" ? "ok" : "fail", "last run " + localTime(run.at) + ": " + run.result + (run.error ? " (" + run.error + ")" : "")]);
    else fact("Poller", ["", String(run)]);
    if (s.queue) {
      fact("Queue depth", ["", s.queue.depth + " (" + s.queue.ready + " ready, " + s.queue.leased + " being processed)"]);
      fact("Oldest pending event", [s.queue.oldest_pending_age_secs > 300 ? "warn" : "", ago(s.queue.oldest_pending_age_secs)]);
    } else {
      fact("Queue", ["", "on EventBridge: no queue here"]);
    }
    fact("Dead letters", [dl.items.length ? "fail" : "ok", dl.items.length + (dl.next ? "+" : "")]);
    fact("Version", ["", s.version]);
    list.replaceChildren(...facts);
    $("chart").replaceChildren(...(s.queue ? [
      chart(s.queue.events_per_minute),
      el("p", { class: "axis", "aria-hidden": "true" },
        el("span", {}, "60 min ago"),
        el("span", {}, "peak " + Math.max(...s.queue.events_per_minute) + "/min"),
        el("span", {}, "now")),
    ] : [el("p", {}, "Not available: the events are on EventBridge.")]));
  } catch (e) {
    list.replaceChildren(el("dt", {}, "Error"), el("dd", { class: "error" }, e.message));
  }
}

// ---------------------------------------------------------------- mappings

function mappingRow(m) {
  const link = (href, text) => href ? el("a", { href, rel: "noreferrer", target: "_blank" }, text) : text;
  const dir = m.last_sync ? (m.last_sync.direction === "case_to_issue" ? "case → issue" : "issue → case") : "—";
  return el("tr", {},
    el("td", {}, link(m.case_url, m.case_id)),
    el("td", {}, link(m.issue_url, m.issue_key)),
    el("td", {}, m.last_sync ? localTime(m.last_sync.at) : "never"),
    el("td", {}, dir));
}

async function loadMappings(event) {
  if (event) event.preventDefault();
  const q = $("mapping-q").value.trim();
  const tbody = $("mapping-table").tBodies[0];
  $("mapping-note").textContent = "";
  try {
    let rows;
    if (q === "") {
      const page = await api("GET", "/v1/mappings?limit=100");
      rows = page.items;
      if (page.next) $("mapping-note").textContent = "Showing the first 100; search for one.";
    } else if (/^[0-9]{10,32}$/.test(q)) {
      rows = [await api("GET", "/v1/mappings/cases/" + q)];
    } else if (/^[A-Za-z][A-Za-z0-9_]*-[0-9]+$/.test(q)) {
      rows = [await api("GET", "/v1/mappings/issues/" + encodeURIComponent(q.toUpperCase()))];
    } else {
      $("mapping-note").textContent = "Enter a case id (10 to 32 digits) or an issue key such as SEC-42.";
      rows = [];
    }
    fillRows(tbody, rows.map(mappingRow), "No mappings.", 4);
    if (q !== "" && rows.length) $("mapping-note").textContent = "Found " + count(rows.length, "mapping") + ".";
  } catch (e) {
    fillRows(tbody, [], e.status === 404 ? "No mapping for " + q + "." : e.message, 4);
  }
}

// ---------------------------------------------------------------- events

function bodyDetails(label, value) {
  return el("details", {}, el("summary", {}, label), el("pre", {}, JSON.stringify(value, null, 2)));
}

async function loadEvents(event) {
  if (event) event.preventDefault();
  const params = new URLSearchParams({ limit: "100" });
  if ($("event-type").value) params.set("type", $("event-type").value);
  if ($("event-state").value) params.set("state", $("event-state").value);
  const tbody = $("event-table").tBodies[0];
  $("event-note").textContent = "";
  try {
    const page = await api("GET", "/v1/events?" + params);
    fillRows(tbody, page.items.map((e) => el("tr", {},
      el("td", {}, localTime(e.received_at)),
      el("td", {}, e.type),
      el("td", { class: e.state === "dead" ? "fail" : "" }, e.state),
      el("td", {}, e.attempts),
      el("td", {}, e.last_error || ""),
      el("td", {}, bodyDetails("Show body", e.event)))), "No events match.", 6);
    $("event-note").textContent = count(page.items.length, "event") + (page.next ? " (the newest 100)" : "") + ".";
  } catch (e) {
    fillRows(tbody, [], e.message, 6);
  }
}

// ---------------------------------------------------------------- dead letters

function confirmDialog(text) {
  return new Promise((resolve) => {
    const d = $("confirm");
    $("confirm-text").textContent = text;
    d.returnValue = "";
    d.addEventListener("close", () => resolve(d.returnValue === "ok"), { once: true });
    d.showModal();
    $("confirm-ok").focus();
  });
}

function dlFilter() {
  const filter = {};
  if ($("dl-type").value) filter.type = $("dl-type").value;
  if ($("dl-error").value) filter.error_contains = $("dl-error").value;
  return filter;
}

async function replayOne(letter) {
  if (!await confirmDialog("Replay dead letter " + letter.id + " (" + letter.type + ")? Its event goes back on the bus once.")) {
    $("dl-outcome").textContent = "Replay cancelled.";
    return;
  }
  try {
    const r = await api("POST", "/v1/dead-letters/" + letter.id + "/replay");
    $("dl-outcome").textContent = "Replayed " + count(r.event_ids.length, "event") + ": " + r.event_ids.join(", ") + ".";
  } catch (e) {
    $("dl-outcome").textContent = "Replay failed: " + e.message;
  }
  await loadDeadLetters();
}

async function replayAll() {
  const f = dlFilter();
  const shown = $("dl-table").tBodies[0].querySelectorAll("button").length;
  if (!await confirmDialog("Replay every dead letter matching this filter (" + shown + " shown)?")) {
    $("dl-outcome").textContent = "Replay cancelled.";
    return;
  }
  try {
    const r = await api("POST", "/v1/dead-letters/replay", f);
    $("dl-outcome").textContent = "Replayed " + count(r.event_ids.length, "event") + (r.event_ids.length ? ": " + r.event_ids.join(", ") : "") + ".";
  } catch (e) {
    $("dl-outcome").textContent = "Replay failed: " + e.message;
  }
  await loadDeadLetters();
}

async function payloadOf(letter, details) {
  if (details.dataset.loaded) return;
  details.dataset.loaded = "1";
  try {
    const full = await api("GET", "/v1/dead-letters/" + letter.id);
    details.querySelector("pre").textContent = JSON.stringify(full.payload, null, 2);
  } catch (e) {
    details.querySelector("pre").textContent = e.message;
  }
}

async function loadDeadLetters(event) {
  if (event) event.preventDefault();
  const params = new URLSearchParams({ limit: "500" });
  if ($("dl-type").value) params.set("type", $("dl-type").value);
  const contains = $("dl-error").value;
  const tbody = $("dl-table").tBodies[0];
  try {
    const page = await api("GET", "/v1/dead-letters?" + params);
    const letters = page.items.filter((l) => !contains || l.error.includes(contains));
    fillRows(tbody, letters.map((l) => {
      const details = el("details", {}, el("summary", {}, "Show payload"), el("pre", {}, "loading…"));
      details.addEventListener("toggle", () => payloadOf(l, details));
      const button = el("button", { type: "button", "aria-label": "Replay " + l.id }, "Replay");
      button.addEventListener("click", () => replayOne(l));
      return el("tr", { "data-id": l.id },
        el("td", {}, localTime(l.failed_at)),
        el("td", {}, l.type),
        el("td", { class: "error" }, l.error),
        el("td", {}, l.attempts),
        el("td", {}, details),
        el("td", {}, button));
    }), "No dead letters.", 6);
  } catch (e) {
    fillRows(tbody, [], e.message, 6);
  }
}

// ---------------------------------------------------------------- doctor and resync

async function runDoctor() {
  const tbody = $("doctor-table").tBodies[0];
  $("doctor-note").textContent = "Running the checks (up to ten seconds)…";
  try {
    const r = await api("GET", "/v1/doctor");
    fillRows(tbody, r.checks.map((c) => el("tr", {},
      el("td", {}, c.id),
      el("td", { class: c.status === "fail" ? "fail" : c.status === "ok" ? "ok" : "warn" }, c.status),
      el("td", {}, c.detail || ""),
      el("td", {}, c.fix || ""))), "No checks.", 4);
    $("doctor-note").textContent = r.ok ? "All checks passed." : "Some checks failed; each says how to fix it.";
  } catch (e) {
    $("doctor-note").textContent = "Doctor failed: " + e.message;
  }
}

async function resync(event) {
  event.preventDefault();
  const target = $("resync-target").value.trim();
  let path;
  if (/^[0-9]{10,32}$/.test(target)) path = "/v1/resync/cases/" + target;
  else if (/^[A-Za-z][A-Za-z0-9_]*-[0-9]+$/.test(target)) path = "/v1/resync/issues/" + encodeURIComponent(target.toUpperCase());
  else {
    $("resync-outcome").textContent = "Enter a case id (10 to 32 digits) or an issue key such as SEC-42.";
    return;
  }
  try {
    const r = await api("POST", path);
    $("resync-outcome").textContent = "Resync of " + target + " queued as event " + r.event_id + ".";
  } catch (e) {
    $("resync-outcome").textContent = "Resync failed: " + e.message;
  }
}

const LOADERS = {
  "health": loadHealth,
  "mappings": () => loadMappings(),
  "events": () => loadEvents(),
  "dead-letters": () => loadDeadLetters(),
  "doctor": () => {},
};

// ---------------------------------------------------------------- start

document.addEventListener("DOMContentLoaded", async () => {
  for (const select of document.querySelectorAll(".event-types")) {
    select.append(el("option", { value: "" }, "any"), ...EVENT_TYPES.map((t) => el("option", { value: t }, t)));
  }
  $("sign-in-form").addEventListener("submit", signIn);
  $("sign-out").addEventListener("click", signOut);
  $("health-refresh").addEventListener("click", loadHealth);
  $("mapping-search").addEventListener("submit", loadMappings);
  $("mapping-all").addEventListener("click", () => { $("mapping-q").value = ""; loadMappings(); });
  $("event-filter").addEventListener("submit", loadEvents);
  $("dl-filter").addEventListener("submit", loadDeadLetters);
  $("dl-replay-all").addEventListener("click", replayAll);
  $("doctor-run").addEventListener("click", runDoctor);
  $("resync-form").addEventListener("submit", resync);
  window.addEventListener("hashchange", () => route(true));
  try {
    signedIn(await api("GET", "/console/session"));
  } catch (_) {
    showSignIn("");
  }
});
