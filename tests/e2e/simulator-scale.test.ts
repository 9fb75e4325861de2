// Many accounts at once: 50 real Baileys sockets linked and open against one simulator.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../simulator/server.ts';
import { trustSimulatorRoot } from '../../simulator/trust.ts';
import { endAllClients, linkAccount } from '../helpers/simulator-client.ts';

const ACCOUNTS = 50;
let sim: Simulator;
let untrust: () => void;

beforeAll(async () => {
  sim = await startSimulator();
  untrust = trustSimulatorRoot(sim);
});
afterAll(async () => {
  endAllClients();
  untrust();
  await sim.stop();
});

describe('simulator: scale', () => {
  it(`connects ${ACCOUNTS} accounts at once`, { timeout: 120_000 }, async () => {
    const phones = Array.from({ length: ACCOUNTS }, (_, i) => String(15551000000 + i));
    const linked = await Promise.all(phones.map((phone) => linkAccount(sim, phone, { connectTimeoutMs: 60_000 })));
    expect(new Set(linked.map((l) => l.account.jid)).size).toBe(ACCOUNTS);
    for (const phone of phones) expect(sim.observe(phone)).toMatchObject({ live: 1, maxLive: 1, uploadedPreKeys: 812 });
    // Every one of them is really usable: each pings the directory.
    sim.addContact('447700900999');
    const answers = await Promise.all(linked.map(({ sock }) => sock.onWhatsApp('447700900999')));
    expect(answers.every((a) => a?.[0]?.exists === true)).toBe(true);
  });
});
