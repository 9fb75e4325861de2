// A client that does not speak the protocol is dropped, and the reason is in the stanza log.
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { useSimulatorStack } from '../helpers/simulator-stack.ts';

const stack = useSimulatorStack();

describe('simulator: protocol errors', () => {
  it('drops a client that does not open with the WA noise header, and logs why', async () => {
    const ws = new WebSocket(stack.sim.url);
    await new Promise((resolve) => ws.once('open', resolve));
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    ws.send(Buffer.from('GET / HTTP/1.1\r\n\r\n'));
    expect(await closed).toBe(1006);
    expect(stack.sim.stanzaLog().map((e) => e.summary).join('\n')).toMatch(/sim-protocol-error.*WA noise header/);
  });
});
