// npm run simulator -- [--port 7780] [--control-port 7781] [--host 127.0.0.1]
//                      [--delivered-ms 50] [--read-ms 100] [--contact 447700900123 ...]
// Starts the WhatsApp simulator standalone for manual use and the local demo. Prints the ws URL,
// the control URL and how a client process trusts the simulator's root; runs until Ctrl-C.
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { startControlServer } from './control-http.ts';
import { startSimulator } from './server.ts';
import { SIMULATOR_ROOT_ENV } from './trust.ts';

const logger = pino({ name: 'wa-simulator' });
const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '7780' },
    'control-port': { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    'delivered-ms': { type: 'string', default: '50' },
    'read-ms': { type: 'string', default: '100' },
    contact: { type: 'string', multiple: true, default: [] },
  },
});

const port = Number(values.port);
const sim = await startSimulator({
  port,
  host: values.host,
  deliveredAfterMs: Number(values['delivered-ms']),
  readAfterMs: Number(values['read-ms']),
});
for (const phone of values.contact ?? []) sim.addContact(phone);
const controlPort = values['control-port'] !== undefined ? Number(values['control-port']) : port === 0 ? 0 : port + 1;
const control = await startControlServer(sim, controlPort, values.host);
const rootKey = Buffer.from(sim.rootPublicKey).toString('base64');

logger.info(
  {
    url: sim.url,
    controlUrl: control.url,
    [SIMULATOR_ROOT_ENV]: rootKey,
    preload: fileURLToPath(new URL('./trust-preload.mjs', import.meta.url)),
    contacts: values.contact,
  },
  'simulator listening; start clients with the env var set and `node --import <preload>`',
);
// One machine-readable line for scripts that spawn this command.
console.log(JSON.stringify({ ready: true, url: sim.url, controlUrl: control.url, rootPublicKey: rootKey }));

const shutdown = async () => {
  control.server.close();
  await sim.stop();
  process.exit(0);
};
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
