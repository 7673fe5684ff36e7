// What every page shares: calls to the API that answer JSON or throw the problem document, a
// signed-in session kept in memory only (never in storage or cookies: a reload signs in again)
// whose access token is refreshed before it expires, and problems shown as the API wrote them.

/** Where the API is: the page's `<meta name="api-base">`, empty for the page's own origin. */
const apiBase = (document.querySelector('meta[name="api-base"]')?.content || "").replace(/\/$/, "");

/** `path` on the API (a page navigates there: a provider's sign-in starts with one). */
export function apiUrl(path) {
  return apiBase + path;
}

/** An API error as the pages show it: problem+json's title, detail, code, request id, fields. */
export class Problem extends Error {
  constructor(status, body) {
    super(body.detail || body.title || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }

  get code() {
    return this.body.code;
  }
}

/** One API call: the parsed JSON answer (`null` for 204), or a thrown `Problem`. */
export async function call(path, { method = "GET", body, token, credentials } = {}) {
  const headers = {};
  if (body !== undefined) headers["content-type"] = "application/json";
  if (token) headers.authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(apiBase + path, {
      method,
      headers,
      credentials,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    throw new Problem(0, { title: "The API could not be reached", detail: `${error.message}; try again in a moment` });
  }
  if (response.status === 204) return null;
  const type = response.headers.get("content-type") || "";
  // Not a problem document (a proxy's or a CDN's error page): its status, and the start of it.
  const data = type.includes("json")
    ? await response.json()
    : { title: response.statusText || `HTTP ${response.status}`, detail: (await response.text()).slice(0, 200) };
  if (!response.ok) throw new Problem(response.status, data);
  return data;
}

/** How long after a refresh that could not reach the API (or was turned away) to try again. */
const REFRESH_RETRY_MS = 15_000;

/**
 * A signed-in session: the tokens of a sign-in, in memory only. The access token is refreshed
 * a minute before it expires (and once more if the API says it expired, as after a sleep);
 * when the session cannot go on (the API refuses it), `onEnded(problem)` is called once.
 */
export class Session {
  constructor(tokens, onEnded) {
    this.onEnded = onEnded;
    this.ended = false;
    this.refreshing = null;
    this.take(tokens);
  }

  /** New tokens for this session: a refresh's, or a password change's. */
  take(tokens) {
    this.accessToken = tokens.accessToken;
    this.refreshToken = tokens.refreshToken;
    this.refreshIn(Math.max(10, (tokens.expiresIn || 900) - 60) * 1000);
  }

  /** A step-up's or an activation's answer: this session raised, its new access token. */
  raise(answer) {
    this.accessToken = answer.accessToken;
    this.refreshIn(Math.max(10, (answer.expiresIn || 900) - 60) * 1000);
  }

  /** Proves the second factor (`{code}` or `{recoveryCode}`) for this session: it is raised. */
  async stepUp(proof) {
    this.raise(await this.call("/api/auth/mfa/step-up", { method: "POST", body: proof }));
  }

  refreshIn(ms) {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.refresh().catch(() => {}), ms);
  }

  refresh() {
    this.refreshing ||= (async () => {
      try {
        const tokens = await call("/api/auth/refresh", {
          method: "POST",
          body: { refreshToken: this.refreshToken },
        });
        // Signed out while it was in flight: these tokens are not wanted.
        if (!this.ended) this.take(tokens);
      } catch (error) {
        // Refused (spent, revoked, expired): the session is over. Unreachable or busy: later.
        if (error.status === 401 || error.status === 403) this.lost(error);
        else if (!this.ended) this.refreshIn(REFRESH_RETRY_MS);
        throw error;
      } finally {
        this.refreshing = null;
      }
    })();
    return this.refreshing;
  }

  /** An API call as this session's user. */
  async call(path, options = {}, refreshed = false) {
    if (this.ended) throw new Problem(401, { title: "Signed out", detail: "sign in again", code: "session_ended" });
    try {
      return await call(path, { ...options, token: this.accessToken });
    } catch (error) {
      if (error.code === "token_expired" && !refreshed) {
        await this.refresh();
        return this.call(path, options, true);
      }
      if (error.status === 401) this.lost(error);
      throw error;
    }
  }

  /** The session ended elsewhere (signed out from another device, password reset, ...). */
  lost(problem) {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.timer);
    this.onEnded(problem);
  }

  /** Signs this session out (its refresh token is revoked); the page forgets it either way. */
  async signOut() {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.timer);
    await call("/api/auth/logout", { method: "POST", body: { refreshToken: this.refreshToken } }).catch(() => {});
  }
}

/**
 * Signs in. Answers `{session, user}`, or `{mfa}` with the login's `{mfaRequired, challenge,
 * methods, expiresIn}` when the account asks for a second step; throws a `Problem`.
 */
export async function signIn(email, password, onEnded) {
  const answer = await call("/api/auth/login", { method: "POST", body: { email, password } });
  return firstStepAnswered(answer, onEnded);
}

/** Signs in with a mailed link's `{token}`, or with `{email, code}` from the mail: as `signIn`. */
export async function signInByMail(proof, onEnded) {
  const answer = await call("/api/auth/email-login/verify", { method: "POST", body: proof });
  return firstStepAnswered(answer, onEnded);
}

/** Trades a provider sign-in's one-time code: as `signIn`. */
export async function signInByProvider(code, onEnded) {
  // With the binding cookie the callback left in this browser (the API may be another origin).
  const answer = await call("/api/auth/oauth/exchange", { method: "POST", body: { code }, credentials: "include" });
  return firstStepAnswered(answer, onEnded);
}

function firstStepAnswered(answer, onEnded) {
  if (answer.mfaRequired) return { mfa: answer };
  return { session: new Session(answer, onEnded), user: answer.user };
}

/** Answers a sign-in's second-factor challenge with `{code}` or `{recoveryCode}`: `{session, user}`. */
export async function answerChallenge(challenge, proof, onEnded) {
  const answer = await call("/api/auth/mfa/challenge", { method: "POST", body: { challenge, ...proof } });
  return { session: new Session(answer, onEnded), user: answer.user };
}

/** A new element with a class and text (never parsed as HTML). */
export function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}

/** Removes the field errors `showProblem` put into `form`. */
export function clearFieldErrors(form) {
  for (const note of form.querySelectorAll(".field-error")) note.remove();
  for (const input of form.querySelectorAll("[aria-invalid]")) {
    input.removeAttribute("aria-invalid");
    input.removeAttribute("aria-describedby");
  }
}

/**
 * Shows `error` in `box` (its title, detail, code and request id), or hides `box` when there
 * is none. A 422's field errors go next to the inputs of `form` named like the field; those
 * with no such input are listed in `box`.
 */
export function showProblem(box, error, form) {
  box.replaceChildren();
  if (form) clearFieldErrors(form);
  if (!error) {
    box.hidden = true;
    return;
  }
  const body = error.body || {};
  box.append(element("strong", "title", body.title || "Something went wrong"), element("p", "detail", error.message));
  const unplaced = element("ul", "fields");
  for (const field of body.errors || []) {
    const input = form?.querySelector(`[name="${CSS.escape(field.field)}"]`);
    if (!input) {
      unplaced.append(element("li", "", `${field.field}: ${field.message} (${field.code})`));
      continue;
    }
    const note = element("p", "field-error", field.message);
    note.id = `${input.id || input.name}-error`;
    note.dataset.code = field.code;
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", note.id);
    (input.closest("label") || input).after(note);
  }
  if (unplaced.children.length) box.append(unplaced);
  if (body.code) {
    const ids = [body.code, body.requestId && `request ${body.requestId}`].filter(Boolean);
    box.append(element("p", "code", ids.join(" · ")));
  }
  box.hidden = false;
}

/** Shows a plain message in `box` (a success or an answer's `message`). */
export function showNotice(box, text) {
  box.replaceChildren(text);
  box.hidden = !text;
}

/**
 * Runs `work` for `form`'s submit: the button is disabled while it runs, and a thrown problem
 * is shown in `box` (field errors next to the fields) instead of escaping.
 */
export function onSubmit(form, box, work) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const buttons = form.querySelectorAll("button");
    buttons.forEach((button) => (button.disabled = true));
    try {
      showProblem(box, null, form);
      await work(new FormData(form));
    } catch (error) {
      if (!(error instanceof Problem)) throw error;
      showProblem(box, error, form);
    } finally {
      buttons.forEach((button) => (button.disabled = false));
    }
  });
}
