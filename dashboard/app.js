// The admin dashboard: signs in (with the second step when the admin has one), keeps the tokens in memory only (a reload signs in again),
// refreshes the access token before it expires (web-common/api.js), and draws the latest
// metrics snapshot, the insights, the queues, the audit log and the admin's own devices.

import { Problem, answerChallenge, call, onSubmit, showProblem, signIn, signInByProvider } from "../web-common/api.js";
import { showDevices } from "../web-common/devices.js";
import { PROVIDER_ERRORS, providerButtons, providerReturn } from "../web-common/providers.js";
import { codeFields } from "../web-common/second-factor.js";
import { browserRefusal, passkeysCard, passkeysSupported, signInWithPasskey } from "../web-common/passkeys.js";

const $ = (id) => document.getElementById(id);

let session = null;
const charts = [];
/** The second step of a sign-in under way: the login's challenge (never the password). */
let challenge = null;
const challengeProof = codeFields($("two-step"));
/** Whether this deployment and this browser offer passkeys. */
let passkeysOn = false;
const passkeys = passkeysCard({
  card: $("passkeys"),
  current: () => session,
  problem: $("error"),
  notice: $("notice"),
  withStepUp: (_session, work) => work(),
});

/** The two-step form put away, its challenge forgotten; the password form shown. */
function backToLogin() {
  challenge = null;
  $("two-step").reset();
  $("two-step").hidden = true;
  $("login").hidden = false;
}

function showError(error) {
  showProblem($("error"), error);
}

function signOut() {
  const ending = session;
  session = null;
  $("board").hidden = true;
  $("session").hidden = true;
  backToLogin();
  // Nothing of the last admin's view stays in the page.
  charts.splice(0).forEach((chart) => chart.destroy());
  for (const id of ["insights", "queues", "audit", "devices"]) $(id).replaceChildren();
  passkeys.clear();
  for (const id of ["total-users", "total-posts", "total-published", "signups-today", "active-today", "failed-today", "bucket", "generated"]) {
    $(id).textContent = "";
  }
  delete document.body.dataset.rendered;
  ending?.signOut();
}

/** The session ended under the page: a failed refresh, or signed out from elsewhere. */
function lost(why) {
  signOut();
  showError(why);
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

async function load(current) {
  const days = $("days").value;
  const [metrics, insights, audit] = await Promise.all([
    current.call(`/api/dashboard/metrics?days=${days}`),
    current.call("/api/dashboard/insights"),
    current.call("/api/audit?limit=10"),
  ]);
  render(metrics, insights, audit);
  showError(null);
}

async function show() {
  const current = session;
  if (!current) return;
  try {
    await load(current);
    // Signed out while it loaded: show nothing.
    if (session !== current) {
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

/** Signed in (after the password, or after the second step too): the board for `started`. */
async function begin(started) {
  session = started;
  await show();
  if (session !== started) return;
  showDevices($("devices"), session, $("error"), signOut);
  if (passkeysOn) passkeys.load().catch(showError);
}

/** The first step of a sign-in is done: the board, or the second step first. */
async function firstStepDone(answer) {
  if (answer.mfa) {
    challenge = answer.mfa.challenge;
    $("login").hidden = true;
    $("two-step").hidden = false;
    $("two-step-code").focus();
    return;
  }
  await begin(answer.session);
}

$("login").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    showError(null);
    const answer = await signIn($("email").value, $("password").value, lost);
    $("password").value = "";
    await firstStepDone(answer);
  } catch (error) {
    showError(error);
  }
});

onSubmit($("two-step"), $("error"), async () => {
  try {
    const answer = await answerChallenge(challenge, challengeProof(), lost);
    backToLogin();
    await begin(answer.session);
  } catch (error) {
    // Expired, answered or failed out: the password is asked for again.
    if (error.code === "invalid_challenge") backToLogin();
    throw error;
  }
});

$("two-step-back").addEventListener("click", () => {
  showError(null);
  backToLogin();
});

$("days").addEventListener("change", () => show());
$("logout").addEventListener("click", () => signOut());

$("passkey-sign-in").addEventListener("click", async () => {
  try {
    showError(null);
    await firstStepDone(await signInWithPasskey($("email").value.trim(), lost));
  } catch (error) {
    showError(browserRefusal(error));
  }
});

// Sign-in with passkeys and the configured providers, and the way back from a provider.
call("/api/auth/methods")
  .then((methods) => {
    providerButtons($("providers"), methods.providers || []);
    passkeysOn = !!methods.passkeys && passkeysSupported();
    $("passkey-sign-in").hidden = !passkeysOn;
    if (session && passkeysOn) passkeys.load().catch(showError);
  })
  .catch(() => {});
const returned = providerReturn();
if (returned?.code) {
  signInByProvider(returned.code, lost)
    .then(firstStepDone)
    .catch(showError);
} else if (returned?.error) {
  const detail = PROVIDER_ERRORS[returned.error] || "The provider sign-in did not work.";
  showError(new Problem(0, { title: "Signing in with a provider", detail, code: returned.error }));
}
