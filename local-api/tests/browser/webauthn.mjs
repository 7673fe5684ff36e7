// A platform authenticator for the page, through the DevTools protocol's WebAuthn domain: it
// keeps discoverable credentials and verifies its user (as a fingerprint or a PIN would), so
// `navigator.credentials.create` and `.get` answer at once, with real attestation and
// assertion objects.

/** Adds the authenticator to `page`; answers how to read the credentials it holds. */
export async function virtualAuthenticator(page) {
  const devtools = await page.context().newCDPSession(page);
  await devtools.send("WebAuthn.enable");
  const { authenticatorId } = await devtools.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      transport: "internal",
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return {
    async credentials() {
      const { credentials } = await devtools.send("WebAuthn.getCredentials", { authenticatorId });
      return credentials.map((c) => ({ resident: c.isResidentCredential, rpId: c.rpId, signCount: c.signCount }));
    },
  };
}
