// The second factor as the pages ask for it: a code from an authenticator app, or one of the
// recovery codes instead, for a sign-in's second step and for a step-up before a sensitive
// change.

import { Problem, element, onSubmit } from "./api.js";

function field(form, name, label, attributes) {
  const input = element("input");
  input.id = `${form.id}-${name === "code" ? "code" : "recovery-code"}`;
  input.name = name;
  input.required = true;
  input.autocomplete = "one-time-code";
  input.spellcheck = false;
  Object.assign(input, attributes);
  const wrapper = element("label", "", `${label} `);
  wrapper.append(input);
  return { wrapper, input };
}

/**
 * Fills `form`'s `[data-code-fields]` with a field for the app's code and, when `recovery`,
 * one for a recovery code shown instead at the press of a link. Answers a function that reads
 * the proof the form holds: `{code}` or `{recoveryCode}`. The hidden field is disabled, so it is
 * neither required nor sent; a reset of the form goes back to the app's code.
 */
export function codeFields(form, { recovery = true } = {}) {
  const place = form.querySelector("[data-code-fields]");
  const code = field(form, "code", "Code from your authenticator app", { inputMode: "numeric" });
  place.replaceChildren(code.wrapper);
  if (!recovery) return () => ({ code: code.input.value });

  const recoveryCode = field(form, "recoveryCode", "Recovery code", { placeholder: "xxxxx-xxxxx" });
  const toggle = element("button", "link", "");
  toggle.type = "button";
  const use = (recovering) => {
    code.wrapper.hidden = code.input.disabled = recovering;
    recoveryCode.wrapper.hidden = recoveryCode.input.disabled = !recovering;
    toggle.textContent = recovering ? "Use a code from the app instead" : "Use a recovery code instead";
    toggle.dataset.recovering = String(recovering);
  };
  toggle.addEventListener("click", () => {
    use(toggle.dataset.recovering !== "true");
    (recoveryCode.input.disabled ? code.input : recoveryCode.input).focus();
  });
  form.addEventListener("reset", () => use(false));
  use(false);
  place.append(recoveryCode.wrapper, toggle);
  return () => (code.input.disabled ? { recoveryCode: recoveryCode.input.value } : { code: code.input.value });
}

/**
 * Wires `form` (with `[data-code-fields]` and a `[data-cancel]` button) as the step-up prompt.
 * Answers `withStepUp(session, work)`: runs `work`, and when the API answers
 * `step_up_required`, shows `form`; once a code raises the session, `work` runs again. Cancelled
 * (or signed out, `cancel()`), it throws a problem saying nothing was changed.
 */
export function stepUpPrompt(form, problemBox) {
  const proof = codeFields(form);
  let waiting = null;

  const finish = (outcome) => {
    const ended = waiting;
    waiting = null;
    form.hidden = true;
    form.reset();
    if (outcome) ended?.reject(outcome);
    else ended?.resolve();
  };
  const cancelled = () =>
    new Problem(0, { title: "Nothing was changed", detail: "the change needs a code from your authenticator app" });

  onSubmit(form, problemBox, async () => {
    await waiting.session.stepUp(proof());
    finish(null);
  });
  form.querySelector("[data-cancel]").addEventListener("click", () => finish(cancelled()));

  async function withStepUp(session, work) {
    try {
      return await work();
    } catch (error) {
      if (error.code !== "step_up_required") throw error;
      if (waiting) finish(cancelled());
      await new Promise((resolve, reject) => {
        waiting = { session, resolve, reject };
        form.hidden = false;
        form.querySelector("input:not([disabled])").focus();
      });
      return work();
    }
  }
  withStepUp.cancel = () => waiting && finish(cancelled());
  return withStepUp;
}
