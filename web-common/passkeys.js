// Passkeys in the pages: signing in with one (with the address typed, or letting the device
// offer its own), and a card that lists the signed-in user's passkeys, adds one on this device
// and removes them. The API speaks JSON with binary values in base64url; the browser's
// WebAuthn calls take and give ArrayBuffers: converted here, both ways.

import { Session, call, element, showNotice, showProblem } from "./api.js";

/** Whether this browser can use passkeys at all. */
export function passkeysSupported() {
  return typeof window.PublicKeyCredential === "function" && !!navigator.credentials;
}

const toBytes = (text) =>
  Uint8Array.from(atob(text.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));

const toText = (buffer) =>
  btoa(String.fromCharCode(...new Uint8Array(buffer))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

const withBytes = (list) => (list || []).map((credential) => ({ ...credential, id: toBytes(credential.id) }));

/**
 * Signs in with a passkey: for `email` its passkeys are offered, without one the device offers
 * its own. Answers `{session, user}` (a passkey sign-in needs no second step); throws a
 * `Problem`, or the browser's error when the person cancels.
 */
export async function signInWithPasskey(email, onEnded) {
  const options = await call("/api/auth/passkeys/login/options", {
    method: "POST",
    body: email ? { email } : {},
  });
  const publicKey = {
    ...options.publicKey,
    challenge: toBytes(options.publicKey.challenge),
    allowCredentials: withBytes(options.publicKey.allowCredentials),
  };
  const credential = await navigator.credentials.get({ publicKey });
  const response = credential.response;
  const answer = await call("/api/auth/passkeys/login/verify", {
    method: "POST",
    body: {
      ceremony: options.ceremony,
      credential: {
        id: credential.id,
        rawId: toText(credential.rawId),
        type: credential.type,
        response: {
          authenticatorData: toText(response.authenticatorData),
          clientDataJSON: toText(response.clientDataJSON),
          signature: toText(response.signature),
          userHandle: response.userHandle ? toText(response.userHandle) : null,
        },
        extensions: {},
      },
    },
  });
  return { session: new Session(answer, onEnded), user: answer.user };
}

/** Registers a passkey of this device to `session`'s account (`password` where it has one). */
async function addPasskey(session, password, name) {
  const options = await session.call("/api/auth/passkeys/register/options", {
    method: "POST",
    body: password ? { password } : {},
  });
  const publicKey = {
    ...options.publicKey,
    challenge: toBytes(options.publicKey.challenge),
    user: { ...options.publicKey.user, id: toBytes(options.publicKey.user.id) },
    excludeCredentials: withBytes(options.publicKey.excludeCredentials),
  };
  const credential = await navigator.credentials.create({ publicKey });
  const response = credential.response;
  return session.call("/api/auth/passkeys/register/verify", {
    method: "POST",
    body: {
      ceremony: options.ceremony,
      name: name || undefined,
      credential: {
        id: credential.id,
        rawId: toText(credential.rawId),
        type: credential.type,
        response: {
          attestationObject: toText(response.attestationObject),
          clientDataJSON: toText(response.clientDataJSON),
          transports: response.getTransports ? response.getTransports() : undefined,
        },
        extensions: {},
      },
    },
  });
}

/** The browser's own refusal (cancelled, timed out, not allowed) as the pages show problems. */
function browserRefusal(error) {
  if (error?.body) return error;
  return { message: `${error?.message || error}`, body: { title: "The passkey was not used", code: error?.name } };
}

/**
 * The "Passkeys" card, drawn into `card` (an empty section): the passkeys listed (each
 * removable, but not the last way into an account without a password), and a form that adds
 * one on this device (the password asked where the account has one).
 * `current()`: the session; `withStepUp`: runs a change, asking for a second factor if needed.
 */
export function passkeysCard({ card, current, problem, notice, withStepUp }) {
  const list = element("ul", "passkeys");
  list.id = "passkey-list";
  const form = element("form", "");
  form.id = "add-passkey";
  const passwordLabel = element("label", "", "Your password ");
  passwordLabel.id = "passkey-password-label";
  const password = element("input", "");
  Object.assign(password, { id: "passkey-password", name: "password", type: "password", autocomplete: "current-password" });
  passwordLabel.append(password);
  const nameLabel = element("label", "", "Name ");
  const name = element("input", "");
  Object.assign(name, { id: "passkey-name", name: "name", maxLength: 64, placeholder: "This laptop" });
  nameLabel.append(name);
  const add = element("button", "", "Add a passkey");
  add.type = "submit";
  form.append(passwordLabel, nameLabel, add);
  card.replaceChildren(
    element("h2", "", "Passkeys"),
    element("p", "", "Sign in with your device's screen lock or a security key instead of a password."),
    list,
    form,
  );

  async function run(work) {
    showProblem(problem, null);
    showNotice(notice, "");
    try {
      await work();
    } catch (error) {
      showProblem(problem, browserRefusal(error), form);
    }
  }

  async function load() {
    card.hidden = !passkeysSupported();
    if (card.hidden) return;
    const answer = await current().call("/api/auth/passkeys");
    passwordLabel.hidden = !answer.hasPassword;
    list.replaceChildren(
      ...answer.data.map((passkey) => {
        const used = passkey.lastUsedAt ? `last used ${new Date(passkey.lastUsedAt).toLocaleString()}` : "never used";
        const item = element("li", "passkey", `${passkey.name} · ${used}${passkey.backedUp ? " · synced" : ""}`);
        item.dataset.passkey = passkey.id;
        const remove = element("button", "link", "Remove");
        remove.type = "button";
        remove.addEventListener("click", () =>
          run(async () => {
            const session = current();
            await withStepUp(session, () =>
              session.call(`/api/auth/passkeys/${encodeURIComponent(passkey.id)}`, { method: "DELETE" }),
            );
            showNotice(notice, `The passkey "${passkey.name}" no longer signs in to this account.`);
            await load();
          }),
        );
        item.append(remove);
        return item;
      }),
    );
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    run(async () => {
      add.disabled = true;
      try {
        const session = current();
        const added = await withStepUp(session, () =>
          addPasskey(session, passwordLabel.hidden ? "" : password.value, name.value.trim()),
        );
        form.reset();
        showNotice(notice, `The passkey "${added.name}" is added: it signs in to this account now.`);
        await load();
      } finally {
        add.disabled = false;
      }
    });
  });

  return {
    load,
    clear() {
      card.hidden = true;
      list.replaceChildren();
      form.reset();
    },
  };
}

export { browserRefusal };
