/**
 * Webhook signing secrets in the Standard Webhooks form: `whsec_` + base64 of 32 random bytes, the
 * key the `standardwebhooks` libraries decode (connector/webhooks/signature.ts signs with it).
 */
export function newWebhookSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return `whsec_${btoa(String.fromCharCode(...bytes))}`;
}
