// The admin dashboard: signs in, keeps the tokens in memory only (a reload signs in again),
// refreshes the access token before it expires, and draws the latest metrics snapshot.
"use strict";

const apiBase = document.querySelector('meta[name="api-base"]').content.replace(/\/$/, "");
const $ = (id) => document.getElementById(id);

let session = null; // { accessToken, refreshToken, timer }
const charts = [];

/** An API error as the page shows it: problem+json's title, detail and code. */
class Problem extends Error {
  constructor(status, body) {
    super(body.detail || body.title || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

async function call(path, { method = "GET", body, auth = true } = {}) {
  const headers = {};
  if (body !== undefined) headers["content-type"] = "application/json";
  if (auth && session) headers.authorization = `Bearer ${session.accessToken}`;
  const response = await fetch(apiBase + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 204) return null;
  const type = response.headers.get("content-type") || "";
  const data = type.includes("json") ? await response.json() : { title: await response.text() };
  if (!response.ok) throw new Problem(response.status, data);
  return data;
}

function showError(error) {
  const box = $("error");
  box.replaceChildren();
  if (!error) {
    box.hidden = true;
    return;
  }
  const body = error.body || {};
  const title = document.createElement("strong");
  title.textContent = body.title || "Something went wrong";
  const detail = document.createElement("span");
  detail.textContent = ` ${error.message}`;
  box.append(title, detail);
  if (body.code) {
    const code = document.createElement("div");
    code.className = "code";
    code.textContent = `${body.code}${body.requestId ? ` · request ${body.requestId}` : ""}`;
    box.append(code);
  }
  box.hidden = false;
}

function startSession(tokens) {
  if (session && session.timer) clearTimeout(session.timer);
  session = { accessToken: tokens.accessToken, refreshToken: tokens.refreshToken };
  // Refresh a minute before the access token expires.
  const inMs = Math.max(10, (tokens.expiresIn || 900) - 60) * 1000;
  session.timer = setTimeout(refresh, inMs);
}

async function refresh() {
  const current = session;
  if (!current) return;
  try {
    const tokens = await call("/api/auth/refresh", {
      method: "POST",
      body: { refreshToken: current.refreshToken },
      auth: false,
    });
    // Signed out (or in again) while this was in flight: these tokens are not wanted.
    if (session !== current) return;
    startSession(tokens);
  } catch (error) {
    signOut();
    showError(error);
  }
}

function signOut() {
  if (session && session.timer) clearTimeout(session.timer);
  const ending = session;
  session = null;
  $("board").hidden = true;
  $("session").hidden = true;
  $("login").hidden = false;
  // Nothing of the last admin's view stays in the page.
  charts.splice(0).forEach((chart) => chart.destroy());
  for (const id of ["insights", "queues", "audit"]) $(id).replaceChildren();
  for (const id of ["total-users", "total-posts", "total-published", "signups-today", "active-today", "failed-today", "bucket", "generated"]) {
    $(id).textContent = "";
  }
  delete document.body.dataset.rendered;
  if (ending) {
    call("/api/auth/logout", { method: "POST", body: { refreshToken: ending.refreshToken }, auth: false })
      .catch(() => {});
  }
}

function text(id, value) {
  $(id).textContent = String(value);
}

function cell(row, value) {
  const td = document.createElement("td");
  td.textContent = value === null || value === undefined ? "–" : String(value);
  row.append(td);
}

function drawChart(target, days, series) {
  const element = $(target);
  element.replaceChildren();
  const xs = days.map((d) => Date.parse(`${d.date}T00:00:00Z`) / 1000);
  const colors = ["#2563eb", "#dc2626", "#16a34a"];
  const options = {
    width: Math.max(320, element.clientWidth || 520),
    height: 220,
    scales: { x: { time: true } },
    series: [{}, ...series.map((s, i) => ({ label: s.label, stroke: colors[i], width: 2 }))],
    axes: [{}, { size: 50 }],
  };
  const data = [xs, ...series.map((s) => days.map(s.value))];
  charts.push(new uPlot(options, data, element));
}

function render(metrics, insights, audit) {
  charts.splice(0).forEach((chart) => chart.destroy());
  const days = metrics.days;
  const today = days[days.length - 1] || {};
  text("bucket", metrics.bucket);
  text("generated", metrics.generatedAt);
  text("total-users", metrics.totals.users);
  text("total-posts", metrics.totals.posts);
  text("total-published", metrics.totals.published);
  text("signups-today", today.signups ?? 0);
  text("active-today", today.activeUsers ?? 0);
  text("failed-today", today.failedLogins ?? 0);

  drawChart("chart-signups", days, [{ label: "signups", value: (d) => d.signups }]);
  drawChart("chart-active", days, [{ label: "active users", value: (d) => d.activeUsers }]);
  drawChart("chart-posts", days, [
    { label: "created", value: (d) => d.postsCreated },
    { label: "published", value: (d) => d.postsPublished },
  ]);
  drawChart("chart-failed", days, [
    { label: "failed logins", value: (d) => d.failedLogins },
    { label: "lockouts", value: (d) => d.lockouts },
  ]);

  const list = $("insights");
  list.replaceChildren();
  for (const insight of insights.insights) {
    const item = document.createElement("li");
    item.className = insight.severity;
    item.dataset.kind = insight.kind;
    item.textContent = insight.message;
    list.append(item);
  }
  if (!insights.insights.length) {
    const item = document.createElement("li");
    item.textContent = "Nothing unusual.";
    list.append(item);
  }

  const queues = $("queues");
  queues.replaceChildren();
  for (const queue of metrics.queues) {
    const row = document.createElement("tr");
    cell(row, queue.queue);
    cell(row, queue.waiting);
    cell(row, queue.deadLetters);
    queues.append(row);
  }

  const events = $("audit");
  events.replaceChildren();
  for (const event of audit.data) {
    const row = document.createElement("tr");
    [event.at, event.action, event.outcome, event.actor, event.target, event.sourceIp, event.detail]
      .forEach((value) => cell(row, value));
    events.append(row);
  }
  document.body.dataset.rendered = "true";
}

async function load() {
  const days = $("days").value;
  const [metrics, insights, audit] = await Promise.all([
    call(`/api/dashboard/metrics?days=${days}`),
    call("/api/dashboard/insights"),
    call("/api/audit?limit=10"),
  ]);
  render(metrics, insights, audit);
  showError(null);
}

async function show() {
  const current = session;
  try {
    await load();
    // Signed out while it loaded: show nothing.
    if (!current || session !== current) {
      signOut();
      return;
    }
    $("login").hidden = true;
    $("board").hidden = false;
    $("session").hidden = false;
  } catch (error) {
    showError(error);
    if (error.status === 401 || error.status === 403) signOut();
  }
}

$("login").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    const tokens = await call("/api/auth/login", {
      method: "POST",
      body: { email: $("email").value, password: $("password").value },
      auth: false,
    });
    startSession(tokens);
    $("password").value = "";
    await show();
  } catch (error) {
    showError(error);
  }
});

$("days").addEventListener("change", () => show());
$("logout").addEventListener("click", () => signOut());
