import { describe, expect, it } from 'vitest';
import { createLogger, maskPhones } from '../../connector/logging/logger.ts';
import { LogCapture } from '../../scripts/harness/connector.ts';

describe('connector logging', () => {
  it('masks phone numbers, also inside jids, but not uuids', () => {
    expect(maskPhones('15550001111')).toBe('1555*****11');
    expect(maskPhones('jid 447700900123:12@s.whatsapp.net')).not.toContain('447700900123');
    const uuid = '3f2b8c1e-1234-4567-89ab-0123456789ab';
    expect(maskPhones(`agent ${uuid}`)).toBe(`agent ${uuid}`);
  });

  it('redacts creds, keys, tokens, secrets and QR codes by name and masks phones', () => {
    const logs = new LogCapture();
    const logger = createLogger({ level: 'info' }, logs);
    logger.info({ creds: { noiseKey: 'AAAA' }, token: 't0k3n', nested: { secret: 's3cr3t', qr_code: '2@abc' }, phone: '15550001111' }, 'hello 15550001111');
    const line = logs.text();
    for (const leaked of ['AAAA', 't0k3n', 's3cr3t', '2@abc', '15550001111']) expect(line).not.toContain(leaked);
    expect(line).toContain('[redacted]');
    expect(line).toContain('hello 1555*****11');
  });

  it('scrubs key material from objects handed to the Baileys logger', () => {
    const logs = new LogCapture();
    const logger = createLogger({ level: 'info', keyMaterial: true }, logs);
    const priv = Buffer.alloc(32, 7);
    logger.info({ session: { rootKey: priv, privKey: priv.toString('base64') }, note: `chain ${priv.toString('base64')}` }, 'record');
    expect(logs.text()).not.toContain(priv.toString('base64'));
  });
});
