// Social sign-in in the pages: a button per configured provider (a navigation to the API's
// start route, coming back to this page), and on the way back the fragment the API put on the
// page (a one-time code to trade for tokens, a linked provider, or why it failed), taken out of
// the address bar and the history at once.

import { apiUrl, call, element } from "./api.js";

/** What the API's callback said in this page's fragment, if anything: `{code}`, `{linked}` or
 * `{error}`. */
export function providerReturn() {
  const fragment = new URLSearchParams(location.hash.slice(1));
  const code = fragment.get("oauth_code");
  const linked = fragment.get("oauth_linked");
  const error = fragment.get("oauth_error");
  if (!code && !linked && !error) return null;
  history.replaceState(null, "", location.pathname + location.search);
  if (code) return { code };
  if (linked) return { linked };
  return { error };
}

/** What each `oauth_error` means to the person who met it. */
export const PROVIDER_ERRORS = {
  invalid_state: "That sign-in expired or was started in another browser. Try again.",
  provider_refused: "The provider did not sign you in.",
  provider_failed: "The provider could not sign you in right now. Try again.",
  email_required: "The provider did not share an e-mail address, which an account here needs.",
  email_not_verified: "The provider has not verified your e-mail address. Verify it there, or register here first.",
  link_required:
    "An account here already has this address. Sign in to it (with its password or a mailed link), then link the provider from your account.",
  identity_in_use: "That provider account is already linked to another account here.",
  session_ended: "Your session ended before the provider was linked. Sign in and try again.",
};

/** The configured providers (`[{id, name}]`), none if the API cannot say. */
export async function providers() {
  try {
    return (await call("/api/auth/methods")).providers || [];
  } catch {
    return [];
  }
}

/** Draws a "Continue with …" link per provider into `container`, each coming back here. */
export function providerButtons(container, list) {
  const back = location.origin + location.pathname;
  container.replaceChildren(
    ...list.map((provider) => {
      const link = element("a", "button provider", `Continue with ${provider.name}`);
      const query = new URLSearchParams({ return_to: back });
      link.href = apiUrl(`/api/auth/oauth/${encodeURIComponent(provider.id)}/start?${query}`);
      link.dataset.provider = provider.id;
      return link;
    }),
  );
  container.hidden = list.length === 0;
}
