// The rules a new password must meet, as the API applies them (shared/src/domain/password.rs
// and the breached-password check); the browser test holds these numbers to the domain's.

const MIN_CHARS = 8;
const MAX_CHARS = 128;

/** Writes the rules into every element marked `data-password-rules`. */
export function showPasswordRules() {
  for (const node of document.querySelectorAll("[data-password-rules]")) {
    node.textContent =
      `${MIN_CHARS} to ${MAX_CHARS} characters; spaces and any letters are welcome, no mix of ` +
      "kinds is required. Not your e-mail address, and not a password found in known data " +
      "breaches (a few unrelated words make a strong one).";
  }
}
