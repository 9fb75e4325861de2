/**
 * kernel/ is the code both runtimes run (the API under Deno, the connector under Node). The
 * Node suites import it everywhere; this proves every module in it also loads, and decides the
 * same, under Deno. A new kernel file is picked up without editing this test, in subfolders too
 * (kernel/node/ files use Node built-ins, which Deno provides: they load here as well).
 *
 *   npm run test:deno
 */
import assert from './assert.ts';
import { addressProblem, hostProblem } from '../../kernel/address-policy.ts';

const kernel = new URL('../../kernel/', import.meta.url);

Deno.test('every kernel module loads under Deno and exports something', async () => {
  const list = (dir: string): string[] =>
    [...Deno.readDirSync(new URL(dir, kernel))].flatMap((e) =>
      e.isDirectory ? list(`${dir}${e.name}/`) : e.isFile && e.name.endsWith('.ts') ? [`${dir}${e.name}`] : [],
    );
  const files = list('').sort();
  assert.ok(files.includes('address-policy.ts'), `kernel/ lists ${files.join(', ')}`);
  for (const file of files) {
    const mod = await import(new URL(file, kernel).href);
    assert.ok(Object.keys(mod).length > 0, `${file} exports nothing`);
  }
});

Deno.test('the address policy decides under Deno as under Node', () => {
  for (const refused of ['127.0.0.1', '203.0.113.5', '192.0.2.1', '198.51.100.7', '2001::1', '2002:a00:1::1', '::7f00:1', 'fec0::1', '::ffff:a9fe:a9fe']) {
    assert.ok(addressProblem(refused) !== null, `${refused} should be refused`);
  }
  for (const allowed of ['8.8.8.8', '2606:4700:4700::1111', '2002:808:808::1']) assert.equal(addressProblem(allowed), null);
  assert.equal(hostProblem('hooks.example.com'), null);
  assert.ok(hostProblem('metadata.google.internal') !== null);
});

// The edge function (Deno) seals what the connector (Node) opens: the envelope must be the same
// bytes under both. A fixed vector made under Node (key 0x11 × 32, version 5) opens here.
const NODE_VECTOR = 'UKEWal6AQdlN08wB3gNbk7qAmZzS39eYmgl+IdCw6sM9Phni9B99PxMA3QfN9uioAKrZSHWxdRI=';
Deno.test('message content sealed under Node opens under Deno; sealed under Deno, it round-trips and is bound to its row', async () => {
  const { openContent, sealContent } = await import('../../kernel/content-box.ts');
  const { associatedData, createKeyring } = await import('../../kernel/secret-box.ts');
  const ring = await createKeyring({ version: 5, key: new Uint8Array(32).fill(0x11) });
  const ad = associatedData.messageContent('agent-1', 'message-1');
  const fromNode = { sealed: { v: 5, ct: NODE_VECTOR } };
  assert.deepEqual(await openContent(ring, fromNode, ad), { text: 'sealed under node' });
  const sealed = await sealContent(ring, { text: 'sealed under deno' }, ad);
  assert.deepEqual(await openContent(ring, sealed as never, ad), { text: 'sealed under deno' });
  let refused = false;
  await openContent(ring, sealed as never, associatedData.messageContent('agent-1', 'message-2')).catch(() => (refused = true));
  assert.ok(refused, 'content bound to another row must not open');
  // The keyed request hash of encrypted sends derives (HKDF) and signs under Deno too.
  const { requestHashKey } = await import('../../kernel/content-box.ts');
  const mac = await crypto.subtle.sign('HMAC', await requestHashKey(new Uint8Array(32).fill(0x11)), new TextEncoder().encode('{}'));
  assert.equal(mac.byteLength, 32);
});
