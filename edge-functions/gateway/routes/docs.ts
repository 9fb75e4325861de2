/** GET /openapi.json (OpenAPI 3.1 from the same zod schemas) and GET /docs (a self-contained page). */
import type { GatewayApp } from '../types.ts';

const info = {
  title: 'wa-gateway control plane',
  version: '1.0.0',
  description:
    'Organisations and their members, agents, WhatsApp sessions, messages, number checks, API keys, webhooks and statistics. ' +
    'Authenticate with `Authorization: Bearer <Supabase user JWT | wag_ API key>`. A signed-in user acts in the ' +
    'organisation named by the `X-Organisation-Id` header (default: their personal organisation, whose id is their ' +
    'user id) with their role there: viewer reads, developer also manages agents, sessions, keys and webhooks and sends, ' +
    'admin also manages members and invitations, owner also renames or deletes the organisation; an organisation they do ' +
    'not belong to is a 404. An API key acts for its organisation within its scopes. Errors are ' +
    '`{ "error": { "code", "message", "details?", "requestId" } }`.',
};

/** Where the function is reached: on Supabase, and from `npm start` (scripts/dev/start.ts, PORT). */
export const SERVERS: Array<{ url: string; description: string; variables: Record<string, { default: string; description: string }> }> = [
  {
    url: 'https://{projectRef}.supabase.co/functions/v1/gateway',
    description: 'The gateway function of a Supabase project',
    variables: { projectRef: { default: 'your-project-ref', description: 'The project reference (Project Settings → General)' } },
  },
  {
    url: 'http://127.0.0.1:{port}/gateway',
    description: 'The local stack of `npm start`',
    variables: { port: { default: '8787', description: 'PORT of npm start' } },
  },
];

interface Operation {
  operationId?: string;
  summary?: string;
  parameters?: Array<{ in?: string; name?: string }>;
}

/**
 * /v1/agent/… serves an agent-bound API key in its agent's context (app.ts): the same operations
 * as /v1/agents/{agentId}/…, documented as such so generated clients have them too.
 */
function boundKeyAliases(paths: Record<string, Record<string, Operation>>): Record<string, Record<string, Operation>> {
  const aliases: Record<string, Record<string, Operation>> = {};
  for (const [path, item] of Object.entries(paths)) {
    if (!path.startsWith('/v1/agents/{agentId}/')) continue;
    aliases[path.replace('/v1/agents/{agentId}/', '/v1/agent/')] = Object.fromEntries(
      Object.entries(item).map(([method, op]) => [
        method,
        {
          ...op,
          operationId: op.operationId && `${op.operationId}WithBoundKey`,
          summary: `${op.summary ?? ''} — with an agent-bound API key, for its agent`,
          parameters: op.parameters?.filter((prm) => !(prm.in === 'path' && prm.name === 'agentId')),
        },
      ]),
    );
  }
  return aliases;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

export function registerDocs(app: GatewayApp): void {
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
    description: 'A Supabase user JWT, or a gateway API key (wag_<prefix>_<secret>)',
  });
  // Paths are relative to the function's URL (the server), as generated clients expect: the
  // app routes them under /gateway because Supabase hands a function every path under its name.
  const document = () => {
    const doc = app.getOpenAPI31Document({ openapi: '3.1.0', info, servers: SERVERS });
    doc.paths = Object.fromEntries(Object.entries(doc.paths ?? {}).map(([p, item]) => [p.replace(/^\/gateway(?=\/)/, ''), item]));
    Object.assign(doc.paths, boundKeyAliases(doc.paths as Record<string, Record<string, Operation>>));
    return doc;
  };

  app.get('/openapi.json', (c) => c.json(document()));

  // No CDN assets: the page must work where only the function is reachable.
  app.get('/docs', (c) => {
    const doc = document();
    const rows: string[] = [];
    for (const [path, item] of Object.entries(doc.paths ?? {})) {
      for (const [method, op] of Object.entries(item as Record<string, { summary?: string; tags?: string[]; security?: unknown[] }>)) {
        rows.push(`<tr><td>${escapeHtml(op.tags?.[0] ?? '')}</td><td><code>${method.toUpperCase()}</code></td><td><code>${escapeHtml(path)}</code></td><td>${op.security?.length ? 'bearer' : 'none'}</td><td>${escapeHtml(op.summary ?? '')}</td></tr>`);
      }
    }
    const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(info.title)}</title>
<style>body{font:14px system-ui,sans-serif;margin:2rem;max-width:80rem}table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.4rem;text-align:left;vertical-align:top}code{font-size:13px}</style></head>
<body><h1>${escapeHtml(info.title)}</h1><p>${escapeHtml(info.description)}</p><p>Machine-readable: <a href="openapi.json">openapi.json</a> (OpenAPI 3.1; paths are relative to this function's URL).</p>
<table><thead><tr><th>Area</th><th>Method</th><th>Path</th><th>Auth</th><th>What</th></tr></thead><tbody>${rows.join('')}</tbody></table></body></html>`;
    return c.html(html);
  });
}
