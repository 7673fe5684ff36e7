// The "Sign-in providers" card of /account: the providers linked to this account (each may be
// unlinked, but not the last way into an account without a password), and a button to link
// each other one. Linking leaves the page for the provider, which sends the browser back here.

import { element, showNotice, showProblem } from "../web-common/api.js";

/**
 * `current()`: the session; `available`: the configured providers; `problem`/`notice`: where
 * to say things; `withStepUp`: runs a change, asking for a second factor when the API wants one.
 */
export function identitiesCard({ current, available, problem, notice, withStepUp }) {
  const $ = (id) => document.getElementById(id);
  const card = $("identities");
  let linked = [];

  async function load() {
    const list = available();
    card.hidden = list.length === 0;
    if (card.hidden) return;
    const answer = await current().call("/api/auth/identities");
    linked = answer.data;
    $("link-password-label").hidden = !answer.hasPassword;
    $("identity-list").replaceChildren(
      ...linked.map((identity) => {
        const name = list.find((p) => p.id === identity.provider)?.name || identity.provider;
        const item = element("li", "identity", `${name}${identity.email ? ` · ${identity.email}` : ""}`);
        item.dataset.provider = identity.provider;
        const unlink = element("button", "link", "Unlink");
        unlink.type = "button";
        unlink.addEventListener("click", () => run(() => unlinkProvider(identity.provider, name)));
        item.append(unlink);
        return item;
      }),
    );
    $("link-buttons").replaceChildren(
      ...list
        .filter((provider) => !linked.some((identity) => identity.provider === provider.id))
        .map((provider) => {
          const button = element("button", "", `Link ${provider.name}`);
          button.type = "button";
          button.dataset.provider = provider.id;
          button.addEventListener("click", () => run(() => linkProvider(provider.id)));
          return button;
        }),
    );
  }

  async function run(work) {
    showProblem(problem, null);
    showNotice(notice, "");
    try {
      await work();
    } catch (error) {
      showProblem(problem, error, $("link-provider"));
    }
  }

  async function linkProvider(id) {
    const session = current();
    const password = $("link-password").value;
    const returnTo = location.origin + location.pathname;
    const answer = await withStepUp(session, () =>
      session.call(`/api/auth/identities/${encodeURIComponent(id)}`, {
        method: "POST",
        body: $("link-password-label").hidden ? { returnTo } : { password, returnTo },
        // Its answer binds the link to this browser with a cookie.
        credentials: "include",
      }),
    );
    location.assign(answer.url);
  }

  async function unlinkProvider(id, name) {
    const session = current();
    await withStepUp(session, () =>
      session.call(`/api/auth/identities/${encodeURIComponent(id)}`, { method: "DELETE" }),
    );
    showNotice(notice, `${name} no longer signs in to this account.`);
    await load();
  }

  return {
    load,
    clear() {
      linked = [];
      card.hidden = true;
      $("identity-list").replaceChildren();
      $("link-buttons").replaceChildren();
    },
  };
}
