// Drives the admin dashboard in headless Chromium: a wrong password shows the problem, the
// right one shows the board and the admin's devices (after the second step, a wrong code then
// the app's, for an admin with a factor: FACTOR is `{"secret", "lastStep"}`); prints what was
// rendered as JSON and saves a screenshot. With PASSWORD `provider:<id>`, the admin signs in
// with that provider's button instead; with `passkey:<password>`, the admin signs in with the
// password, adds a passkey on the board, logs out and signs in with the passkey.
//
//   node dashboard.mjs BASE_URL EMAIL PASSWORD SCREENSHOT_PATH [FACTOR]
import { launchBrowser } from "./launch.mjs";
import { Authenticator } from "./totp.mjs";
import { virtualAuthenticator } from "./webauthn.mjs";

const [base, email, password, screenshot, factor] = process.argv.slice(2);
const browser = await launchBrowser();
const problems = [];
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1600 } });
  page.on("pageerror", (error) => problems.push(`page error: ${error}`));
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console: ${message.text()}`);
  });
  const passkey = password.startsWith("passkey:") ? password.slice("passkey:".length) : null;
  const device = passkey ? await virtualAuthenticator(page) : null;
  await page.goto(`${base}/dashboard`);
  const provider = password.startsWith("provider:") ? password.slice("provider:".length) : null;

  let loginError = null;
  let passkeyAdded = null;
  if (passkey) {
    await page.waitForSelector("#passkey-sign-in:not([hidden])");
    await page.fill("#email", email);
    await page.fill("#password", passkey);
    await page.click("#login button[type=submit]");
    await page.waitForSelector("#add-passkey:not([hidden])");
    await page.fill("#passkey-password", passkey);
    await page.click("#add-passkey button[type=submit]");
    await page.waitForSelector("#notice:not([hidden])");
    passkeyAdded = await page.textContent("#notice");
    await page.click("#logout");
    await page.waitForSelector("#login:not([hidden])");
    await page.fill("#email", "");
    await page.click("#passkey-sign-in");
  } else if (provider) {
    await page.click(`#providers a[data-provider=${provider}]`);
  } else {
    await page.fill("#email", email);
    await page.fill("#password", "not the password");
    await page.click("#login button[type=submit]");
    await page.waitForSelector("#error:not([hidden])");
    loginError = await page.textContent("#error");
    // The 401 above is logged by the browser as a failed resource: expected, not a problem.
    problems.length = 0;

    await page.fill("#password", password);
    await page.click("#login button[type=submit]");
  }
  let twoStep = null;
  if (factor) {
    const { secret, lastStep } = JSON.parse(factor);
    const app = new Authenticator(secret, lastStep);
    await page.waitForSelector("#two-step:not([hidden])");
    const passwordLeft = await page.inputValue("#password");
    await page.fill("#two-step-code", app.wrong());
    await page.click("#two-step button[type=submit]");
    await page.waitForSelector("#two-step-code-error");
    const wrongCode = await page.getAttribute("#two-step-code-error", "data-code");
    problems.length = 0;
    await page.fill("#two-step-code", await app.next());
    await page.click("#two-step button[type=submit]");
    twoStep = { passwordLeft, wrongCode };
  }
  await page.waitForSelector("body[data-rendered=true]", { timeout: 20000 });
  await page.waitForFunction(() => document.querySelectorAll(".chart canvas").length >= 4);
  // The admin's own devices, from the same module as the account page's.
  await page.waitForSelector("#devices[data-devices]");

  const rendered = await page.evaluate(() => {
    const text = (id) => document.getElementById(id).textContent.trim();
    return {
      totalUsers: text("total-users"),
      totalPosts: text("total-posts"),
      totalPublished: text("total-published"),
      signupsToday: text("signups-today"),
      activeToday: text("active-today"),
      failedToday: text("failed-today"),
      charts: document.querySelectorAll(".chart canvas").length,
      insights: [...document.querySelectorAll("#insights li")].map((li) => li.textContent),
      auditRows: document.querySelectorAll("#audit tr").length,
      queues: [...document.querySelectorAll("#queues tr")].map((tr) => tr.textContent),
      devices: [...document.querySelectorAll("#devices li.device")].map((li) => ({
        name: li.querySelector(".name").textContent,
        current: li.classList.contains("current"),
      })),
      errorHidden: document.getElementById("error").hidden,
      loginFormShown: getComputedStyle(document.getElementById("login")).display !== "none",
      twoStepShown: getComputedStyle(document.getElementById("two-step")).display !== "none",
      // The tokens live in memory only.
      storedItems: localStorage.length + sessionStorage.length,
      cookies: document.cookie,
    };
  });
  await page.screenshot({ path: screenshot, fullPage: true });
  const dashboardProblems = [...problems];

  // The API reference renders every operation of /openapi.yaml.
  problems.length = 0;
  await page.goto(`${base}/docs`);
  await page.waitForSelector(".opblock", { timeout: 20000 });
  const docsOperations = await page.locator(".opblock").count();
  console.log(JSON.stringify({
    loginError, twoStep, passkeyAdded, held: device ? await device.credentials() : null,
    ...rendered, problems: dashboardProblems, docsOperations, docsProblems: [...problems],
  }));
} finally {
  await browser.close();
}
