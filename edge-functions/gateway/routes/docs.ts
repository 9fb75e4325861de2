/** GET /openapi.json (OpenAPI 3.1 from the same zod schemas) and GET /docs (a self-contained page). */
import type { GatewayApp } from '../types.ts';

const info = {
  title: 'wa-gateway control plane',
  version: '1.0.0',
  description:
    'Agents, WhatsApp sessions, messages, number checks, API keys, webhooks and statistics. ' +
    'Authenticate with `Authorization: Bearer <Supabase user JWT | wag_ API key>`. Errors are ' +
    '`{ "error": { "code", "message", "details?", "requestId" } }`.',
};

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

export function registerDocs(app: GatewayApp): void {
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
    description: 'A Supabase user JWT, or a gateway API key (wag_<prefix>_<secret>)',
  });
  const document = () => app.getOpenAPI31Document({ openapi: '3.1.0', info });

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
<body><h1>${escapeHtml(info.title)}</h1><p>${escapeHtml(info.description)}</p><p>Machine-readable: <a href="openapi.json">openapi.json</a> (OpenAPI 3.1).</p>
<table><thead><tr><th>Area</th><th>Method</th><th>Path</th><th>Auth</th><th>What</th></tr></thead><tbody>${rows.join('')}</tbody></table></body></html>`;
    return c.html(html);
  });
}
