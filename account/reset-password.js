// Opened from the link in a password-reset mail: a new password for the link's token. A
// refused password (too short, breached, ...) leaves the link usable for another try.

import { call, onSubmit } from "../web-common/api.js";
import { showPasswordRules } from "../web-common/password-rules.js";
import { askForNewLink, tokenFromLink } from "./mailed-link.js";

const $ = (id) => document.getElementById(id);
const problem = $("problem");
const notice = $("notice");
const token = tokenFromLink();

onSubmit($("reset"), problem, async (form) => {
  try {
    await call("/api/auth/reset-password", { method: "POST", body: { token, password: form.get("password") } });
  } catch (error) {
    if (error.code === "invalid_token") {
      $("reset").hidden = true;
      $("forgot").hidden = false;
    }
    throw error;
  }
  $("reset").hidden = true;
  $("done").hidden = false;
});

$("show-password").addEventListener("change", (event) => {
  $("password").type = event.target.checked ? "text" : "password";
});

askForNewLink($("forgot"), "/api/auth/forgot-password", problem, notice);

showPasswordRules();
$("reset").hidden = !token;
$("no-token").hidden = Boolean(token);
$("forgot").hidden = Boolean(token);
