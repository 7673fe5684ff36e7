// What the pages opened from a mailed link share: the token from the link's fragment (which
// browsers never send to a server), and the form that asks for a new link.

import { call, onSubmit, showNotice } from "../web-common/api.js";

/**
 * The `#token=` of the link this page was opened from, or null. The fragment is taken out of
 * the address bar and the history at once, so the token is not left where others may see it
 * (a fragment without one is left for whoever reads it: a provider's return).
 */
export function tokenFromLink() {
  const fragment = new URLSearchParams(location.hash.slice(1));
  if (!fragment.has("token")) return null;
  history.replaceState(null, "", location.pathname + location.search);
  return fragment.get("token") || null;
}

/** `form` posts its e-mail to `path` (which always answers 202 with a message) and says so. */
export function askForNewLink(form, path, problem, notice) {
  onSubmit(form, problem, async (fields) => {
    showNotice(notice, "");
    const answer = await call(path, { method: "POST", body: { email: fields.get("email") } });
    showNotice(notice, `${answer.message}. Open the newest one.`);
  });
}
