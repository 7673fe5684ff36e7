// Drives the account pages in headless Chromium, one scenario a run, from the link a mail
// holds or from /account; prints what the pages showed as JSON, with every console error and
// CSP violation, and what the pages left in storage and cookies (nothing, they must).
//
//   node account.mjs SCENARIO '{"link": ..., ...}'
import { readdirSync, readFileSync } from "node:fs";
import { launchBrowser } from "./launch.mjs";
import { Authenticator } from "./totp.mjs";
import { virtualAuthenticator } from "./webauthn.mjs";

const [scenario, json] = process.argv.slice(2);
const args = JSON.parse(json);

const visible = (selector) => `${selector}:not([hidden])`;

/** The problem box as the page shows it: its text, and its code line. */
async function problemShown(page) {
  await page.waitForSelector(visible("#problem"));
  return page.evaluate(() => ({
    text: document.getElementById("problem").textContent,
    code: document.querySelector("#problem .code")?.textContent || "",
  }));
}

/** The field error shown next to `input`: `{code, text}`. */
async function fieldError(page, input) {
  const note = page.locator(`#${input}-error`);
  await note.waitFor();
  return { code: await note.getAttribute("data-code"), text: await note.textContent() };
}

async function submit(page, form) {
  await page.click(`#${form} button[type=submit]`);
}

async function signIn(page, email, password) {
  await page.fill("#sign-in-email", email);
  await page.fill("#sign-in-password", password);
  await submit(page, "sign-in");
}

async function notice(page) {
  await page.waitForSelector(visible("#notice"));
  return page.textContent("#notice");
}

/** Opens a link again in a fresh document (the same URL with a fragment would not reload). */
async function reopen(page, link) {
  await page.goto("about:blank");
  await page.goto(link);
}

/** The .eml files in `mailDir` now. */
function mailFiles(mailDir) {
  try {
    return readdirSync(mailDir).filter((name) => name.endsWith(".eml"));
  } catch {
    return [];
  }
}

/** How long a mail may take, as `MAIL_WAIT` in support/mail.rs: on DynamoDB a delivery that
 * fails under load comes back after the queue's 60 s visibility timeout. */
const MAIL_WAIT_MS = 120_000;

/** The code of a sign-in mail to `email` written after `before` (file names), as a person
 * reads it from their inbox. */
async function mailedCode(mailDir, email, before) {
  for (const started = Date.now(); Date.now() - started < MAIL_WAIT_MS; ) {
    for (const name of mailFiles(mailDir).filter((n) => !before.includes(n))) {
      const text = readFileSync(`${mailDir}/${name}`, "utf8").replace(/=\r?\n/g, "");
      const code = text.match(/where you asked to sign in: (\d{4} \d{4})/);
      if (code && text.includes(email)) return code[1];
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no sign-in mail to ${email}`);
}

/** The signed-in page's account line and how its session was proven, from the devices list. */
async function signedInAs(page) {
  await page.waitForSelector("#devices[data-devices]");
  return {
    who: await page.textContent("#who"),
    method: await page.textContent("#devices li.device.current .method"),
  };
}

const scenarios = {
  // A passkey added on the signed-in page (the password asked first, a wrong one refused),
  // then signing in with it: without the address (the device offers it), and with it.
  async passkey(page, { base, email, password }) {
    const device = await virtualAuthenticator(page);
    await page.goto(`${base}/account`);
    await page.waitForSelector(visible("#passkey-sign-in"));
    await signIn(page, email, password);
    await page.waitForSelector(visible("#add-passkey"));
    await page.fill("#passkey-password", "not the password");
    await page.click("#add-passkey button[type=submit]");
    const wrong = await fieldError(page, "passkey-password");
    await page.fill("#passkey-password", password);
    await page.fill("#passkey-name", "This laptop");
    await page.click("#add-passkey button[type=submit]");
    const added = await notice(page);
    await page.waitForSelector("#passkey-list li.passkey");
    const listed = await page.textContent("#passkey-list");
    await page.click("#sign-out");
    await page.waitForSelector(visible("#passkey-sign-in"));
    await page.click("#passkey-sign-in");
    const usernameless = await signedInAs(page);
    await page.click("#sign-out");
    await page.waitForSelector(visible("#passkey-sign-in"));
    await page.fill("#sign-in-email", email);
    await page.click("#passkey-sign-in");
    const withAddress = await signedInAs(page);
    await page.waitForSelector("#passkey-list li.passkey");
    return {
      wrong,
      added,
      listed,
      usernameless,
      withAddress,
      listedAfter: await page.textContent("#passkey-list"),
      held: await device.credentials(),
    };
  },

  // "Continue with …" on the sign-in form: off to the provider and back, signed in; the one-time
  // code gone from the address bar.
  async provider(page, { base }) {
    await page.goto(`${base}/account`);
    await page.click("#providers a[data-provider=stand-in]");
    const signedIn = await signedInAs(page);
    await page.waitForSelector("#identity-list li[data-provider=stand-in]");
    return {
      ...signedIn,
      addressAfter: page.url(),
      linked: await page.textContent("#identity-list"),
      passwordAsked: await page.isVisible("#link-password"),
    };
  },

  // A password account links the provider from its page (the password asked first), comes
  // back signed out with the notice, and then signs in with the provider.
  async "link-provider"(page, { base, email, password }) {
    await page.goto(`${base}/account`);
    await signIn(page, email, password);
    await page.waitForSelector("#link-buttons button[data-provider=stand-in]");
    await page.click("#link-buttons button[data-provider=stand-in]");
    const wrong = await problemShown(page);
    await page.fill("#link-password", password);
    await page.click("#link-buttons button[data-provider=stand-in]");
    const linked = await notice(page);
    await page.click("#providers a[data-provider=stand-in]");
    return { wrong, linked, ...(await signedInAs(page)) };
  },

  // Sign-in by mail from the sign-in form: the mail asked for, a wrong code refused, the code
  // typed as the mail shows it.
  async "email-code"(page, { base, email, mailDir }) {
    await page.goto(`${base}/account`);
    await page.waitForSelector(visible("#show-email-login"));
    await page.fill("#sign-in-email", email);
    await page.click("#show-email-login");
    const prefilled = await page.inputValue("#email-login-email");
    const before = mailFiles(mailDir);
    await submit(page, "email-login");
    const asked = await notice(page);
    await page.waitForSelector(visible("#email-code"));
    const codePrefilled = await page.inputValue("#email-code-email");
    const code = await mailedCode(mailDir, email, before);
    await page.fill("#email-code-code", code === "0000 0000" ? "0000 0001" : "0000 0000");
    await submit(page, "email-code");
    const wrong = await problemShown(page);
    await page.fill("#email-code-code", code);
    await submit(page, "email-code");
    return { prefilled, asked, codePrefilled, wrong, ...(await signedInAs(page)) };
  },

  // The link from a sign-in mail: nothing is spent until the button is pressed; then signed
  // in, and the token gone from the address bar; the link a second time is refused.
  async "email-link"(page, { link }) {
    const spent = [];
    page.on("request", (request) => {
      if (request.url().includes("/api/auth/email-login")) spent.push(request.url());
    });
    await page.goto(link, { waitUntil: "networkidle" });
    await page.waitForSelector(visible("#email-link"));
    const callsBeforePress = spent.length;
    const addressAfterLoad = page.url();
    const signInShown = await page.isVisible("#sign-in");
    await page.click("#email-link-button");
    const signedIn = await signedInAs(page);
    await reopen(page, link);
    await page.click("#email-link-button");
    const used = await problemShown(page);
    return { callsBeforePress, addressAfterLoad, signInShown, ...signedIn, used, signInAfter: await page.isVisible("#sign-in") };
  },

  // The verification (or address change) link: nothing is spent until the button is pressed;
  // then the used link shows the problem and offers a new link.
  async verify(page, { link, email }) {
    await page.goto(link);
    await page.waitForSelector(visible("#confirm"));
    const addressAfterLoad = page.url();
    await page.click("#confirm-button");
    await page.waitForSelector(visible("#confirmed"));
    const confirmed = await page.textContent("#confirmed");

    await reopen(page, link);
    await page.click("#confirm-button");
    const used = await problemShown(page);
    const resendShown = await page.isVisible("#resend");
    await page.fill("#resend-email", email);
    await submit(page, "resend");
    return { addressAfterLoad, confirmed, used, resendShown, resent: await notice(page) };
  },

  // Opened but not pressed, as a mail scanner would: no API call at all.
  async "verify-unpressed"(page, { link }) {
    const apiCalls = [];
    page.on("request", (request) => {
      if (request.url().includes("/api/")) apiCalls.push(`${request.method()} ${request.url()}`);
    });
    await page.goto(link, { waitUntil: "networkidle" });
    return { confirmShown: await page.isVisible("#confirm"), apiCalls };
  },

  // The reset link: the rules, a too-short and a breached password refused next to the field,
  // then a good one; the used link shows the problem and offers a new link.
  async reset(page, { link, email, short, breached, password }) {
    await page.goto(link);
    await page.waitForSelector(visible("#reset"));
    const addressAfterLoad = page.url();
    const rules = await page.textContent("#password-rules");
    await page.fill("#password", short);
    await submit(page, "reset");
    const tooShort = await fieldError(page, "password");
    const tooShortProblem = await problemShown(page);
    await page.fill("#password", breached);
    await submit(page, "reset");
    await page.waitForSelector('#password-error[data-code="password_breached"]');
    const breachedError = await fieldError(page, "password");
    const invalid = await page.getAttribute("#password", "aria-invalid");
    await page.fill("#password", password);
    await submit(page, "reset");
    await page.waitForSelector(visible("#done"));
    const done = await page.textContent("#done");
    const fieldErrorsLeft = await page.locator(".field-error").count();

    await reopen(page, link);
    await page.fill("#password", `${password} again`);
    await submit(page, "reset");
    const used = await problemShown(page);
    const forgotShown = await page.isVisible("#forgot");
    await page.fill("#forgot-email", email);
    await submit(page, "forgot");
    return {
      addressAfterLoad, rules, tooShort, tooShortProblem, breached: breachedError, invalid, done,
      fieldErrorsLeft, used, forgotShown, askedAgain: await notice(page),
    };
  },

  // A link with no token, and one with a made-up token.
  async "bad-links"(page, { base }) {
    await page.goto(`${base}/reset-password`);
    await page.waitForSelector(visible("#no-token"));
    const resetWithout = { formShown: await page.isVisible("#reset"), forgotShown: await page.isVisible("#forgot") };
    await page.goto(`${base}/verify-email#token=made-up`);
    await page.click("#confirm-button");
    const madeUp = await problemShown(page);
    return { resetWithout, madeUp };
  },

  // /account: a wrong password, then your devices: the other sessions listed, one ended, then
  // every other one, then signed out.
  async devices(page, { base, email, password, end }) {
    await page.goto(`${base}/account`);
    await signIn(page, email, "not the password");
    const wrong = await problemShown(page);
    await signIn(page, email, password);
    await page.waitForSelector("#devices[data-devices]");
    const rows = () =>
      page.$$eval("#devices li.device", (items) =>
        items.map((li) => ({
          id: li.dataset.sessionId,
          name: li.querySelector(".name").textContent,
          current: li.classList.contains("current"),
          badge: li.querySelector(".badge")?.textContent || null,
          facts: li.querySelector(".facts").textContent,
        })),
      );
    const before = await rows();
    const count = before.length;
    const target = page.locator("#devices li.device", { hasText: end });
    await target.getByRole("button", { name: "Sign out this device" }).click();
    await page.waitForSelector(`#devices[data-devices="${count - 1}"]`);
    const afterOne = await rows();
    const endedOne = await page.textContent(".devices-status");
    await page.getByRole("button", { name: "Sign out everywhere else" }).click();
    await page.waitForSelector('#devices[data-devices="1"]');
    const afterOthers = await rows();
    const who = await page.textContent("#who");
    await page.click("#sign-out");
    await page.waitForSelector(visible("#sign-in"));
    return { wrong, before, afterOne, endedOne, afterOthers, who, signedOut: await notice(page) };
  },

  // /account: an address change asked for from the page (a wrong password first).
  async "change-email"(page, { base, email, password, newEmail }) {
    await page.goto(`${base}/account`);
    await signIn(page, email, password);
    await page.waitForSelector(visible("#change-email"));
    await page.fill("#new-email", newEmail);
    await page.fill("#change-email-password", "not the password");
    await submit(page, "change-email");
    const wrong = await fieldError(page, "change-email-password");
    await page.fill("#change-email-password", password);
    await submit(page, "change-email");
    return { wrong, asked: await notice(page) };
  },

  // /account: a new password (a breached one refused first); this device stays signed in. The
  // name and the browser's user agent are the caller's: markup in them stays text.
  async "change-password"(page, { base, email, password, breached, newPassword }) {
    await page.goto(`${base}/account`);
    await signIn(page, email, password);
    await page.waitForSelector("#devices[data-devices]");
    const rules = await page.textContent("#new-password-rules");
    await page.fill("#current-password", password);
    await page.fill("#new-password", breached);
    await submit(page, "change-password");
    const refused = await fieldError(page, "new-password");
    await page.fill("#new-password", newPassword);
    await submit(page, "change-password");
    const changed = await notice(page);
    await page.waitForSelector('#devices[data-devices="1"]');
    return {
      rules, refused, changed,
      devices: Number(await page.getAttribute("#devices", "data-devices")),
      // What the user and their browser wrote, shown as text and never as markup (the one
      // image of the page is the QR code's, empty until an enrolment).
      who: await page.textContent("#who"),
      userAgent: await page.textContent("#devices li.current .user-agent"),
      injected: await page.locator("body img:not(#enrol-qr), body script").count(),
    };
  },

  // /account with REQUIRE_EMAIL_VERIFICATION: an unconfirmed address is offered a new link.
  async unverified(page, { base, email, password }) {
    await page.goto(`${base}/account`);
    await signIn(page, email, password);
    const refused = await problemShown(page);
    await page.waitForSelector(visible("#resend"));
    const prefilled = await page.inputValue("#resend-email");
    await submit(page, "resend");
    return { refused, prefilled, resent: await notice(page) };
  },

  // /account left open: the page refreshes its access token before it expires, twice, each time
  // with the refresh token the last one gave, and then still acts as its user.
  async refresh(page, { base, email, password }) {
    const refreshes = [];
    page.on("response", (response) => {
      if (response.url().endsWith("/api/auth/refresh")) refreshes.push(response.status());
    });
    await page.goto(`${base}/account`);
    await signIn(page, email, password);
    await page.waitForSelector("#devices[data-devices]");
    for (let n = 1; n <= 2; n++) {
      await page.waitForResponse((response) => response.url().endsWith("/api/auth/refresh"), { timeout: 60000 });
    }
    await page.getByRole("button", { name: "Sign out everywhere else" }).click();
    await page.waitForSelector('#devices[data-devices="1"]');
    return {
      refreshes,
      stillSignedIn: await page.getAttribute("body", "data-signed-in"),
      status: await page.textContent(".devices-status"),
    };
  },

  // /account, two-step sign-in from start to end, with two devices: the laptop signs in first
  // (password only); on the phone the factor is turned on (a wrong password, then the right
  // one; a wrong code, then the app's), new
  // recovery codes made; the laptop's password change asks it to step up (a recovery code); a
  // sign-in's second step refuses a code of the dead set and takes the app's; then it is turned
  // off with a recovery code.
  async "two-factor"(laptop, { base, email, password, newPassword }) {
    const codes = (page) => page.$$eval("#recovery-code-list code", (items) => items.map((c) => c.textContent));
    const status = (page) => page.textContent("#two-factor-status");
    await laptop.goto(`${base}/account`);
    await signIn(laptop, email, password);
    await laptop.waitForSelector('#two-factor[data-state="off"]');
    const offAtFirst = await status(laptop);

    const phone = await laptop.context().newPage();
    await phone.goto(`${base}/account`);
    await signIn(phone, email, password);
    await phone.waitForSelector(visible("#two-factor-start"));
    await phone.fill("#two-factor-password", "not the password");
    await submit(phone, "two-factor-start");
    const wrongPassword = await fieldError(phone, "two-factor-password");
    await phone.fill("#two-factor-password", password);
    await submit(phone, "two-factor-start");
    await phone.waitForSelector(visible("#enrol"));
    const secret = await phone.textContent("#enrol-secret");
    const qr = await phone.$eval("#enrol-qr", (img) => img.decode().then(() => ({ width: img.naturalWidth, svg: img.src.startsWith("data:image/svg+xml") })));
    const app = new Authenticator(secret);
    await phone.fill("#enrol-code", app.wrong());
    await submit(phone, "enrol");
    const wrongCode = await fieldError(phone, "enrol-code");
    await phone.fill("#enrol-code", await app.next());
    await submit(phone, "enrol");
    await phone.waitForSelector(visible("#recovery-codes"));
    const firstSet = await codes(phone);
    const activated = await notice(phone);
    await phone.click("#recovery-codes-saved");
    await phone.waitForSelector('#two-factor[data-state="on"]');
    const on = await status(phone);
    await phone.click("#new-recovery-codes");
    let secondSet = [];
    for (let tries = 0; secondSet.length !== 10 || secondSet.includes(firstSet[0]); tries++) {
      if (tries === 200) throw new Error(`no new recovery codes: ${secondSet}`);
      await phone.waitForTimeout(50);
      secondSet = await codes(phone);
    }

    // The laptop signed in before the factor: its password change asks for a step-up first.
    await laptop.fill("#current-password", password);
    await laptop.fill("#new-password", newPassword);
    await submit(laptop, "change-password");
    await laptop.waitForSelector(visible("#step-up"));
    const stepUpAsked = await laptop.textContent("#step-up h2");
    await laptop.click("#step-up button.link:not([data-cancel])");
    await laptop.fill("#step-up-recovery-code", secondSet[0]);
    await submit(laptop, "step-up");
    const changed = await notice(laptop);
    const stepUpHidden = await laptop.isHidden("#step-up");

    await laptop.click("#sign-out");
    const login = laptop.waitForResponse((response) => response.url().endsWith("/api/auth/login"));
    await signIn(laptop, email, newPassword);
    const answer = await (await login).json();
    const challenged = answer.mfaRequired === true && !("accessToken" in answer) && !("refreshToken" in answer);
    await laptop.waitForSelector(visible("#two-step"));
    const passwordLeft = await laptop.inputValue("#sign-in-password");
    await laptop.click("#two-step button.link:not(#two-step-back)");
    await laptop.fill("#two-step-recovery-code", firstSet[1]);
    await submit(laptop, "two-step");
    const deadSet = await fieldError(laptop, "two-step-recovery-code");
    await laptop.click("#two-step button.link:not(#two-step-back)");
    await laptop.fill("#two-step-code", await app.next());
    await submit(laptop, "two-step");
    await laptop.waitForSelector("#devices li.device.current");
    const method = await laptop.textContent("#devices li.device.current .method");
    await laptop.waitForSelector('#two-factor[data-state="on"]');
    const onAfterSignIn = await status(laptop);

    await laptop.click("#two-factor-off button.link");
    await laptop.fill("#two-factor-off-recovery-code", secondSet[1]);
    await submit(laptop, "two-factor-off");
    const turnedOff = await notice(laptop);
    await laptop.waitForSelector('#two-factor[data-state="off"]');
    const phoneStored = await phone.evaluate(() => localStorage.length + sessionStorage.length);
    return {
      offAtFirst, wrongPassword, qr, wrongCode, firstSet, activated, on, secondSet, stepUpAsked, changed, stepUpHidden,
      challenged, passwordLeft, deadSet, method, onAfterSignIn, turnedOff, phoneStored,
    };
  },

  // /account: a forgotten password from the sign-in form.
  async forgot(page, { base, email }) {
    await page.goto(`${base}/account`);
    await page.fill("#sign-in-email", email);
    await page.click("#show-forgot");
    await page.waitForSelector(visible("#forgot"));
    const prefilled = await page.inputValue("#forgot-email");
    await submit(page, "forgot");
    return { prefilled, asked: await notice(page) };
  },
};

const browser = await launchBrowser();
try {
  const context = await browser.newContext({ userAgent: args.userAgent });
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (error) => problems.push(`page error: ${error}`));
  page.on("console", (message) => {
    if (message.type() !== "error") return;
    // An API answer of 4xx is logged as a failed resource: the scenarios ask for those. A page
    // file that fails to load is not one of them.
    const failedApiCall = message.text().startsWith("Failed to load resource") && message.location().url.includes("/api/");
    if (!failedApiCall) problems.push(`console: ${message.text()}`);
  });
  page.on("response", (response) => {
    if (response.status() >= 400 && !response.url().includes("/api/")) {
      problems.push(`${response.status()} for ${response.url()}`);
    }
  });
  const shown = await scenarios[scenario](page, args);
  const stored = await page.evaluate(() => ({
    storedItems: localStorage.length + sessionStorage.length,
    documentCookie: document.cookie,
  }));
  const cookies = (await context.cookies()).length;
  console.log(JSON.stringify({ ...shown, ...stored, cookies, problems }));
} finally {
  await browser.close();
}
