// The account page: sign in (with the second step when the account has one; or ask for a reset
// link, or a new confirmation link), then your devices, two-step sign-in, a new password and a
// new address. The tokens live in memory only.

import {
  Problem, answerChallenge, call, onSubmit, showNotice, showProblem, signIn, signInByMail, signInByProvider,
} from "../web-common/api.js";
import { showDevices } from "../web-common/devices.js";
import { showPasswordRules } from "../web-common/password-rules.js";
import { codeFields, stepUpPrompt } from "../web-common/second-factor.js";
import { PROVIDER_ERRORS, providerButtons, providerReturn } from "../web-common/providers.js";
import { browserRefusal, passkeysCard, passkeysSupported, signInWithPasskey } from "../web-common/passkeys.js";
import { identitiesCard } from "./identities.js";
import { tokenFromLink } from "./mailed-link.js";
import { twoFactorCard } from "./two-factor.js";

const $ = (id) => document.getElementById(id);
const problem = $("problem");
const notice = $("notice");
const signedOutCards = ["sign-in", "forgot", "resend", "two-step", "email-link", "email-login", "email-code"];

let session = null;
let reloadDevices = null;
/** The second step of a sign-in under way: the login's challenge (never the password). */
let challenge = null;
const challengeProof = codeFields($("two-step"));
const withStepUp = stepUpPrompt($("step-up"), problem);
const twoFactor = twoFactorCard({ current: () => session, problem, notice, withStepUp });
/** The configured sign-in providers, once the API has said. */
let available = [];
const identities = identitiesCard({ current: () => session, available: () => available, problem, notice, withStepUp });
/** Whether this deployment and this browser offer passkeys. */
let passkeysOn = false;
const passkeys = passkeysCard({ card: $("passkeys"), current: () => session, problem, notice, withStepUp });

/** Shows the signed-out cards named (or the signed-in account when `cards` is null). */
function show(cards) {
  $("signed-out").hidden = cards === null;
  $("account").hidden = cards !== null;
  $("signed-in").hidden = cards !== null;
  for (const id of signedOutCards) $(id).hidden = !(cards || []).includes(id);
}

function signedIn(newSession, user) {
  session = newSession;
  $("sign-in").reset();
  $("who").textContent = `${user.name} · ${user.email}`;
  $("unverified").hidden = user.emailVerified;
  $("unverified-email").textContent = user.email;
  reloadDevices = showDevices($("devices"), session, problem, signOut);
  show(null);
  document.body.dataset.signedIn = "true";
  twoFactor.load().catch((error) => showProblem(problem, error));
  identities.load().catch((error) => showProblem(problem, error));
  if (passkeysOn) passkeys.load().catch((error) => showProblem(problem, error));
}

/** Back to the sign-in form, with nothing of the last user left in the page. */
function signedOut() {
  session = null;
  reloadDevices = null;
  challenge = null;
  withStepUp.cancel();
  twoFactor.clear();
  identities.clear();
  passkeys.clear();
  for (const form of document.querySelectorAll("#account form")) form.reset();
  $("devices").replaceChildren();
  $("who").textContent = "";
  $("unverified-email").textContent = "";
  show(["sign-in"]);
  delete document.body.dataset.signedIn;
}

async function signOut() {
  const ending = session;
  signedOut();
  await ending?.signOut();
  showNotice(notice, "You are signed out on this device.");
}

/** `work` on `id`'s submit, the last notice cleared first and any problem shown. */
function submit(id, work) {
  onSubmit($(id), problem, async (form) => {
    showNotice(notice, "");
    await work(form);
  });
}

/** The session ended under the page (signed out elsewhere, a password reset, ...). */
function lost(why) {
  signedOut();
  showProblem(problem, why);
}

/** The first step of a sign-in is done: signed in, or on to the second step. */
function firstStepDone(answer) {
  for (const id of ["sign-in", "email-login", "email-code"]) $(id).reset();
  if (answer.mfa) {
    challenge = answer.mfa.challenge;
    show(["two-step"]);
    $("two-step-code").focus();
    return;
  }
  signedIn(answer.session, answer.user);
}

submit("sign-in", async (form) => {
  const email = form.get("email");
  try {
    firstStepDone(await signIn(email, form.get("password"), lost));
  } catch (error) {
    // An address not confirmed yet (when the API requires it): offer a new link.
    if (error.code === "email_not_verified") {
      $("resend-email").value = email;
      show(["sign-in", "resend"]);
    }
    throw error;
  }
});

// The address typed, if any, offers that account's passkeys; without one the device offers its own.
$("passkey-sign-in").addEventListener("click", async () => {
  const button = $("passkey-sign-in");
  button.disabled = true;
  showProblem(problem, null);
  showNotice(notice, "");
  try {
    firstStepDone(await signInWithPasskey($("sign-in-email").value.trim(), lost));
  } catch (error) {
    showProblem(problem, browserRefusal(error));
  } finally {
    button.disabled = false;
  }
});

$("show-email-login").addEventListener("click", () => {
  $("email-login-email").value = $("sign-in-email").value;
  show(["sign-in", "email-login"]);
  $("email-login-email").focus();
});

submit("email-login", async (form) => {
  const email = form.get("email");
  const answer = await call("/api/auth/email-login", { method: "POST", body: { email } });
  showNotice(notice, `${answer.message}. Open the link, or type the code below.`);
  $("email-code-email").value = email;
  show(["email-login", "email-code"]);
  $("email-code-code").focus();
});

submit("email-code", async (form) => {
  firstStepDone(await signInByMail({ email: form.get("email"), code: form.get("code") }, lost));
});

/** Opened from a sign-in mail's link: it is spent only when pressed (a mail scanner opening
 * the link spends nothing). */
const mailedToken = tokenFromLink();
$("email-link-button").addEventListener("click", async () => {
  const button = $("email-link-button");
  button.disabled = true;
  showProblem(problem, null);
  try {
    firstStepDone(await signInByMail({ token: mailedToken }, lost));
  } catch (error) {
    showProblem(problem, error);
    if (error.code === "invalid_token") show(["sign-in"]);
  } finally {
    button.disabled = false;
  }
});

submit("two-step", async () => {
  try {
    const answer = await answerChallenge(challenge, challengeProof(), lost);
    $("two-step").reset();
    challenge = null;
    signedIn(answer.session, answer.user);
  } catch (error) {
    // Expired, answered or failed out: the password is asked for again.
    if (error.code === "invalid_challenge") {
      challenge = null;
      $("two-step").reset();
      show(["sign-in"]);
    }
    throw error;
  }
});

$("two-step-back").addEventListener("click", () => {
  challenge = null;
  $("two-step").reset();
  show(["sign-in"]);
});

$("show-forgot").addEventListener("click", () => {
  $("forgot-email").value = $("sign-in-email").value;
  show(["sign-in", "forgot"]);
  $("forgot-email").focus();
});

submit("forgot", async (form) => {
  const answer = await call("/api/auth/forgot-password", { method: "POST", body: { email: form.get("email") } });
  showNotice(notice, `${answer.message}. Open it from the mail to choose a new password.`);
});

submit("resend", async (form) => {
  const answer = await call("/api/auth/verify-email/resend", { method: "POST", body: { email: form.get("email") } });
  showNotice(notice, `${answer.message}.`);
});

$("resend-signed-in").addEventListener("click", async () => {
  try {
    showProblem(problem, null);
    showNotice(notice, "");
    await session.call("/api/auth/verify-email/resend", { method: "POST", body: {} });
    showNotice(notice, `A new link is on its way to ${$("unverified-email").textContent}.`);
  } catch (error) {
    showProblem(problem, error);
  }
});

submit("change-password", async (form) => {
  const current = session;
  const answer = await withStepUp(current, () =>
    current.call("/api/auth/password", {
      method: "POST",
      body: { currentPassword: form.get("currentPassword"), newPassword: form.get("newPassword") },
    }),
  );
  // Every session ended, this one too; the answer is this device's new one.
  current.take(answer);
  $("change-password").reset();
  showNotice(notice, "Your password is changed. Every other device is signed out.");
  await reloadDevices();
});

submit("change-email", async (form) => {
  const email = form.get("email");
  const current = session;
  await withStepUp(current, () =>
    current.call("/api/users/me/email", { method: "POST", body: { email, password: form.get("password") } }),
  );
  $("change-email").reset();
  showNotice(notice, `We mailed a link to ${email}. It becomes your address when that link is opened; until then, sign in with the current one.`);
});

$("sign-out").addEventListener("click", signOut);

showPasswordRules();
show(mailedToken ? ["email-link"] : ["sign-in"]);
// Sign-in by mail and with providers, where this deployment offers them.
call("/api/auth/methods")
  .then((methods) => {
    $("show-email-login").hidden = !methods.emailLogin;
    passkeysOn = !!methods.passkeys && passkeysSupported();
    $("passkey-sign-in").hidden = !passkeysOn;
    if (session && passkeysOn) passkeys.load().catch((error) => showProblem(problem, error));
    available = methods.providers || [];
    providerButtons($("providers"), available);
    if (session) identities.load().catch((error) => showProblem(problem, error));
  })
  .catch(() => {});

// Back from a provider: a code to trade for a session, a provider linked, or why not.
const returned = providerReturn();
if (returned?.code) {
  signInByProvider(returned.code, lost)
    .then(firstStepDone)
    .catch((error) => showProblem(problem, error));
} else if (returned?.linked) {
  showNotice(notice, "The provider is linked: it signs in to this account now. Sign in again here.");
} else if (returned?.error) {
  const detail = PROVIDER_ERRORS[returned.error] || "The provider sign-in did not work.";
  showProblem(problem, new Problem(0, { title: "Signing in with a provider", detail, code: returned.error }));
}
