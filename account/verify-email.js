// Opened from the link in a verification (or address change) mail: the token waits for a
// press of the button, so a mail scanner that opens the link, even one that runs scripts,
// spends nothing.

import { call, showProblem } from "../web-common/api.js";
import { askForNewLink, tokenFromLink } from "./mailed-link.js";

const $ = (id) => document.getElementById(id);
const problem = $("problem");
const notice = $("notice");
const token = tokenFromLink();

$("confirm-button").addEventListener("click", async () => {
  const button = $("confirm-button");
  button.disabled = true;
  showProblem(problem, null);
  try {
    await call("/api/auth/verify-email", { method: "POST", body: { token } });
    $("confirm").hidden = true;
    $("confirmed").hidden = false;
  } catch (error) {
    showProblem(problem, error);
    if (error.code === "invalid_token") {
      $("confirm").hidden = true;
      $("resend").hidden = false;
    }
  } finally {
    button.disabled = false;
  }
});

askForNewLink($("resend"), "/api/auth/verify-email/resend", problem, notice);

$("confirm").hidden = !token;
$("no-token").hidden = Boolean(token);
$("resend").hidden = Boolean(token);
