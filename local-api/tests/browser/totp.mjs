// An authenticator app for the browser scripts: RFC 6238 codes (HMAC-SHA1, 30 s, 6 digits)
// from the key a page shows, written apart from the server's code so it checks it.
import { createHmac } from "node:crypto";

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** RFC 4648 base 32, spaces and padding ignored. */
function fromBase32(text) {
  const bytes = [];
  let bits = 0;
  let value = 0;
  for (const char of text.replace(/[\s=]/g, "").toUpperCase()) {
    const index = ALPHABET.indexOf(char);
    if (index < 0) throw new Error(`not base 32: ${char}`);
    value = ((value << 5) | index) & 0xfff;
    bits += 5;
    if (bits >= 8) {
      bytes.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(bytes);
}

export function codeAt(key, step) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac("sha1", key).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, "0");
}

const stepNow = () => Math.floor(Date.now() / 30_000);

/**
 * The app for one key. Each code is taken once by the server, and it takes the next step's code
 * early (one step of skew): `next()` gives a code for a step after the last one given (or
 * `lastStep`, one used elsewhere), waiting when that step is not yet within reach.
 */
export class Authenticator {
  constructor(secret, lastStep = -1) {
    this.key = fromBase32(secret);
    this.lastStep = lastStep;
  }

  async next() {
    const step = Math.max(stepNow(), this.lastStep + 1);
    while (step > stepNow() + 1) await new Promise((resolve) => setTimeout(resolve, 250));
    this.lastStep = step;
    return codeAt(this.key, step);
  }

  /** A code that is not the current one (nor the next's or the last's). */
  wrong() {
    const near = [-1, 0, 1].map((d) => codeAt(this.key, stepNow() + d));
    let guess = 0;
    while (near.includes(String(guess).padStart(6, "0"))) guess += 1;
    return String(guess).padStart(6, "0");
  }
}
