/**
 * A typed client of the gateway API: the paths, parameters, bodies and answers are the types
 * openapi-typescript generated from docs/openapi.json (schema.gen.ts); openapi-fetch makes the
 * calls. This file only adds the bearer token.
 *
 *   const gateway = createGatewayClient({ baseUrl: 'https://<ref>.supabase.co/functions/v1/gateway', token });
 *   const { data, error } = await gateway.POST('/v1/agents', { body: { name: 'Support' } });
 */
import createClient, { type Client } from 'openapi-fetch';
import type { paths } from './schema.gen.ts';

export type { components, operations, paths } from './schema.gen.ts';
export type GatewayClient = Client<paths>;

export interface GatewayClientOptions {
  /** The function's URL: a server of the document, e.g. http://127.0.0.1:8787/gateway for `npm start`. */
  baseUrl: string;
  /** A Supabase user JWT or a wag_ API key. */
  token: string;
  fetch?: typeof globalThis.fetch;
}

export function createGatewayClient(options: GatewayClientOptions): GatewayClient {
  const client = createClient<paths>({ baseUrl: options.baseUrl.replace(/\/+$/, ''), fetch: options.fetch });
  client.use({
    onRequest({ request }) {
      request.headers.set('Authorization', `Bearer ${options.token}`);
      return request;
    },
  });
  return client;
}
