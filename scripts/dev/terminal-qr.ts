/**
 * The terminal side of linking: polls the local user's sessions once a second and reports each
 * new QR code (drawn with the qrcode package), pairing code and status change. Polling, not
 * LISTEN, because the embedded database serves one connection.
 */
import QRCode from 'qrcode';
import type { Sql } from 'postgres';

export function watchSessions(sql: Sql, ownerId: string, print: (text: string) => void, intervalMs = 1_000): () => void {
  const seen = new Map<string, { status: string; qr: string | null; pairing: string | null }>();
  let busy = false;
  const timer = setInterval(async () => {
    if (busy) return;
    busy = true;
    try {
      const rows = await sql`
        select a.id, a.name, s.status, s.qr_code, s.pairing_code, s.phone_number
        from public.agents a join public.whatsapp_sessions s on s.agent_id = a.id where a.owner_id = ${ownerId}`;
      for (const r of rows) {
        const before = seen.get(r.id as string);
        const now = { status: r.status as string, qr: r.qr_code as string | null, pairing: r.pairing_code as string | null };
        seen.set(r.id as string, now);
        const label = `agent "${r.name}" (${r.id})`;
        if (now.qr && now.qr !== before?.qr) {
          print(`\nScan with WhatsApp → Linked devices → Link a device — ${label}:\n${await QRCode.toString(now.qr, { type: 'terminal', small: true })}`);
        }
        if (now.pairing && now.pairing !== before?.pairing) print(`Pairing code for ${label}: ${now.pairing}`);
        if (before && now.status !== before.status) print(`${label}: ${before.status} → ${now.status}${r.phone_number ? ` (+${String(r.phone_number).slice(0, -4)}····)` : ''}`);
      }
    } catch {
      // The database is stopping or busy; the next tick tries again.
    } finally {
      busy = false;
    }
  }, intervalMs);
  return () => clearInterval(timer);
}
