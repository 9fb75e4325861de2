// A small JSON-over-HTTP control surface for a simulator running in another process (the
// standalone command, the local demo, a connector test that spawns processes). Loopback only.
//   POST /scan {qr, phone?}            POST /pairing-code {phone, code}
//   POST /contacts {phone, lid?, devices?, pushName?}
//   POST /inject {account, from, text | image}      POST /fault {account, kind}
//   GET /observe?account=  GET /received?contact=  GET /stanzas?account=  GET /info
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FaultKind, InboundContent, Simulator } from './server.ts';

async function readJson(req: IncomingMessage): Promise<Record<string, any>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : {};
}

function required(body: Record<string, any>, name: string): string {
  const value = body[name];
  if (typeof value !== 'string' || !value) throw Object.assign(new Error(`"${name}" is required`), { status: 400 });
  return value;
}

async function route(sim: Simulator, req: IncomingMessage): Promise<unknown> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const key = `${req.method} ${url.pathname}`;
  const query = (name: string) => required(Object.fromEntries(url.searchParams), name);
  switch (key) {
    case 'GET /info':
      return { url: sim.url, rootPublicKey: Buffer.from(sim.rootPublicKey).toString('base64') };
    case 'GET /observe':
      return sim.observe(query('account'));
    case 'GET /received':
      return sim.received(query('contact'));
    case 'GET /stanzas':
      return sim.stanzaLog(url.searchParams.get('account') ?? undefined);
  }
  const body = req.method === 'POST' ? await readJson(req) : {};
  switch (key) {
    case 'POST /scan':
      return sim.scan(required(body, 'qr'), { phone: body.phone });
    case 'POST /pairing-code':
      return sim.completePairingCode(required(body, 'phone'), required(body, 'code'));
    case 'POST /contacts': {
      const contact = sim.addContact(required(body, 'phone'), body);
      return { phone: contact.phone, lid: contact.lid, jid: contact.jid };
    }
    case 'POST /inject':
      return sim.inject(required(body, 'account'), body as InboundContent);
    case 'POST /fault':
      return { affected: sim.fault(required(body, 'account'), required(body, 'kind') as FaultKind) };
  }
  throw Object.assign(new Error(`no route ${key}`), { status: 404 });
}

export async function startControlServer(sim: Simulator, port = 0, host = '127.0.0.1'): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    route(sim, req).then(
      (result) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(result ?? null));
      },
      (err: Error & { status?: number }) => {
        res.writeHead(err.status ?? 500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: err.message }));
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  const address = server.address() as AddressInfo;
  return { url: `http://${address.address}:${address.port}`, server };
}
