// The account page's two-step sign-in card: turn it on (a QR code and the key, then a code from
// the app; ten recovery codes shown once), make new recovery codes, turn it off. Changes that
// ask for the second factor go through `withStepUp`.

import { element, onSubmit, showNotice, showProblem } from "../web-common/api.js";
import { codeFields } from "../web-common/second-factor.js";

const $ = (id) => document.getElementById(id);

/** The key in groups of four, as authenticator apps show it. */
const grouped = (secret) => secret.match(/.{1,4}/g).join(" ");

/**
 * Wires the card once. `current()` is the page's session (null when signed out). Answers
 * `{load, clear}`: draw the card for the signed-in user, or empty it.
 */
export function twoFactorCard({ current, problem, notice, withStepUp }) {
  const enrolCode = codeFields($("enrol"), { recovery: false });
  const offProof = codeFields($("two-factor-off"));

  function showRecoveryCodes(codes) {
    $("recovery-code-list").replaceChildren(...codes.map((code) => {
      const item = element("li");
      item.append(element("code", "", code));
      return item;
    }));
    $("recovery-codes").hidden = false;
  }

  function clear() {
    for (const id of ["two-factor-start", "enrol", "recovery-codes", "new-recovery-codes", "two-factor-off"]) {
      $(id).hidden = true;
    }
    $("two-factor-start").reset();
    $("enrol").reset();
    $("two-factor-off").reset();
    $("enrol-qr").removeAttribute("src");
    $("enrol-secret").textContent = "";
    $("recovery-code-list").replaceChildren();
    $("two-factor-status").textContent = "";
    delete $("two-factor").dataset.state;
  }

  async function load() {
    const { totp } = await current().call("/api/auth/mfa");
    const active = totp?.status === "active";
    $("two-factor").dataset.state = active ? "on" : "off";
    $("two-factor-status").textContent = active
      ? `On since ${new Date(totp.activatedAt).toLocaleDateString()}. ${totp.recoveryCodesRemaining} of 10 recovery codes unused.`
      : "Off. With it on, a sign-in also asks for a code from an authenticator app, so a password alone is not enough.";
    $("two-factor-start").hidden = active || !$("enrol").hidden;
    $("new-recovery-codes").hidden = !active;
    $("two-factor-off").hidden = !active;
  }

  const attempt = async (work) => {
    try {
      showProblem(problem, null);
      showNotice(notice, "");
      await work();
    } catch (error) {
      showProblem(problem, error);
    }
  };

  // The password first: a stolen session alone must not turn on a factor of someone else's.
  onSubmit($("two-factor-start"), problem, async (form) => {
    showNotice(notice, "");
    let enrolment;
    try {
      enrolment = await current().call("/api/auth/mfa/totp", {
        method: "POST",
        body: { password: form.get("password") },
      });
    } catch (error) {
      // Turned on from another device meanwhile: show it as it is.
      if (error.code === "mfa_already_enabled") await load();
      throw error;
    }
    $("two-factor-start").reset();
    // An image, never markup in the page: the SVG cannot run anything.
    $("enrol-qr").src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(enrolment.qrCode)}`;
    $("enrol-secret").textContent = grouped(enrolment.secret);
    $("enrol").hidden = false;
    $("two-factor-start").hidden = true;
    $("enrol-code").focus();
  });

  onSubmit($("enrol"), problem, async () => {
    const session = current();
    const answer = await session.call("/api/auth/mfa/totp/verify", { method: "POST", body: enrolCode() });
    session.raise(answer);
    clear();
    showRecoveryCodes(answer.recoveryCodes);
    showNotice(notice, "Two-step sign-in is on. Save your recovery codes now.");
    await load();
  });

  // Cancelled: the pending factor is dropped (no code needed for one never turned on).
  $("enrol").querySelector("[data-cancel]").addEventListener("click", () =>
    attempt(async () => {
      await current().call("/api/auth/mfa/totp", { method: "DELETE" });
      clear();
      await load();
    }),
  );

  $("recovery-codes-saved").addEventListener("click", () => {
    $("recovery-codes").hidden = true;
    $("recovery-code-list").replaceChildren();
  });

  $("new-recovery-codes").addEventListener("click", () =>
    attempt(async () => {
      const session = current();
      const answer = await withStepUp(session, () =>
        session.call("/api/auth/mfa/recovery-codes", { method: "POST", body: {} }),
      );
      showRecoveryCodes(answer.recoveryCodes);
      showNotice(notice, "New recovery codes: the old ones no longer work. Save these now.");
      await load();
    }),
  );

  onSubmit($("two-factor-off"), problem, async () => {
    const session = current();
    const proof = offProof();
    await withStepUp(session, () => session.call("/api/auth/mfa/totp", { method: "DELETE", body: proof }));
    clear();
    showNotice(notice, "Two-step sign-in is off: your password alone signs in.");
    await load();
  });

  return { load, clear };
}
