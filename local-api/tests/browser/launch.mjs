// Starts headless Chromium for a browser script. A start that crashes before any page exists
// (seen on a loaded 2-core machine: the browser process dies during launch) is tried again,
// twice at most; what the scripts test only begins once a browser is up.
import { chromium } from "playwright-core";

export async function launchBrowser() {
  for (let attempt = 1; ; attempt++) {
    try {
      return await chromium.launch({
        executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
        args: ["--no-sandbox"],
      });
    } catch (error) {
      if (attempt === 3) throw error;
      console.error(`Chromium did not start (attempt ${attempt}): ${error.message.split("\n")[0]}`);
    }
  }
}
