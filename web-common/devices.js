// "Your devices": the signed-in user's live sessions (`GET /api/auth/sessions`), newest first,
// the one this page uses marked; each other one can be signed out, or all of them at once.
// Used by the account page and the admin dashboard alike.

import { element, showProblem } from "./api.js";

const METHODS = { pwd: "password", otp: "authenticator code", recovery: "recovery code", email: "mailed link or code", oauth: "sign-in provider", webauthn: "passkey" };

function when(label, iso) {
  const time = element("time", "", new Date(iso).toLocaleString());
  time.dateTime = iso;
  const part = element("span", "", `${label} `);
  part.append(time);
  return part;
}

function button(text, onClick) {
  const node = element("button", "", text);
  node.type = "button";
  node.addEventListener("click", async () => {
    node.disabled = true;
    try {
      await onClick();
    } finally {
      node.disabled = false;
    }
  });
  return node;
}

/**
 * Draws the devices of `session` into `container` (emptied first) and keeps them current as
 * devices are signed out; problems go to `problemBox`. `signOutHere` ends the page's own session.
 * Answers a function that loads the list again.
 */
export function showDevices(container, session, problemBox, signOutHere) {
  const list = element("ul", "devices");
  const more = element("button", "more", "Show more");
  more.type = "button";
  more.hidden = true;
  const status = element("p", "devices-status");
  status.setAttribute("role", "status");
  let cursor = null;

  const attempt = async (work) => {
    try {
      showProblem(problemBox, null);
      await work();
    } catch (error) {
      showProblem(problemBox, error);
    }
  };

  function row(device) {
    const item = element("li", device.current ? "device current" : "device");
    item.dataset.sessionId = device.id;
    const name = element("strong", "name", device.device || "Unknown device");
    const heading = element("div", "heading");
    heading.append(name);
    if (device.current) heading.append(element("span", "badge", "This device"));
    const facts = element("div", "facts");
    if (device.ip) facts.append(element("span", "address", `from ${device.ip} (network ${device.network})`));
    facts.append(when("signed in", device.createdAt), when("last used", device.lastUsedAt));
    const methods = (device.amr || []).map((m) => METHODS[m] || m).join(" + ");
    if (methods) facts.append(element("span", "method", `with ${methods}`));
    item.append(heading, facts);
    if (device.userAgent) item.append(element("small", "user-agent", device.userAgent));
    if (device.current) {
      item.append(button("Sign out", signOutHere));
    } else {
      item.append(
        button("Sign out this device", () =>
          attempt(async () => {
            try {
              await session.call(`/api/auth/sessions/${encodeURIComponent(device.id)}`, { method: "DELETE" });
              status.textContent = `${device.device || "That device"} is signed out.`;
            } finally {
              // Gone either way (a 404 means it had already ended): show what is left.
              await load();
            }
          }),
        ),
      );
    }
    return item;
  }

  async function page(from) {
    const query = from ? `?cursor=${encodeURIComponent(from)}` : "";
    const answer = await session.call(`/api/auth/sessions${query}`);
    list.append(...answer.data.map(row));
    cursor = answer.nextCursor;
    more.hidden = !cursor;
    container.dataset.devices = String(list.children.length);
  }

  async function load() {
    list.replaceChildren();
    delete container.dataset.devices;
    await page(null);
  }

  more.addEventListener("click", () => attempt(() => page(cursor)));
  const others = button("Sign out everywhere else", () =>
    attempt(async () => {
      await session.call("/api/auth/logout?scope=others", { method: "POST" });
      status.textContent = "Every other device is signed out.";
      await load();
    }),
  );
  container.replaceChildren(element("h2", "", "Your devices"), status, list, more, others);
  attempt(load);
  return () => attempt(load);
}
