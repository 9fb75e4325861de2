/**
 * Organisations over the API: the personal organisation by default, X-Organisation-Id switching,
 * a foreign or malformed organisation as a 404, the role matrix on representative routes,
 * invitations end to end (by email address, accepted by the signed-in invitee), the owner rules,
 * keys that act for their organisation, and plan limits counted per organisation.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrganisationRole } from '../../kernel/organisation-roles.ts';
import { type ApiHarness, createApiHarness, errorOf } from '../helpers/api.ts';

let api: ApiHarness;
type Member = { id: string; email: string; token: string };
let owner: Member;
let team: string;
const members = new Map<OrganisationRole, Member>();
let outsider: Member;
let teamAgent: string;

/** A user whose JWT carries their email address, as Supabase Auth's do. */
async function person(): Promise<Member> {
  const { id } = await api.user();
  const [row] = await api.db.sql`select email from auth.users where id = ${id}`;
  const email = row!.email as string;
  return { id, email, token: await api.token(id, { email }) };
}

/** A call by `who` in `organisation` (X-Organisation-Id; null: without the header). */
const as = (who: Member, method: string, path: string, body?: unknown, organisation: string | null = team) =>
  api.call(method, path, { token: who.token, body, headers: organisation ? { 'x-organisation-id': organisation } : {} });

async function invite(by: Member, email: string, role: OrganisationRole): Promise<Response> {
  return await as(by, 'POST', `/v1/organisations/${team}/invitations`, { email, role });
}

beforeAll(async () => {
  api = await createApiHarness();
  owner = await person();
  outsider = await person();
  const res = await as(owner, 'POST', '/v1/organisations', { name: 'Acme' }, null);
  expect(res.status).toBe(201);
  team = ((await res.json()) as { id: string }).id;
  members.set('owner', owner);
  for (const role of ['admin', 'developer', 'viewer'] as const) {
    const m = await person();
    const created = await invite(owner, m.email, role);
    expect(created.status).toBe(201);
    const { token } = (await created.json()) as { token: string };
    const accepted = await as(m, 'POST', '/v1/invitations/accept', { token }, null);
    expect(accepted.status).toBe(200);
    expect(await accepted.json()).toMatchObject({ id: team, role, personal: false });
    members.set(role, m);
  }
  teamAgent = await (async () => {
    const r = await as(owner, 'POST', '/v1/agents', { name: 'team agent' });
    expect(r.status).toBe(201);
    return ((await r.json()) as { id: string }).id;
  })();
});
afterAll(async () => api?.close());

describe('which organisation a request acts in', () => {
  it('lists the caller\'s organisations with their role, the personal one first', async () => {
    const res = await as(members.get('viewer')!, 'GET', '/v1/organisations', undefined, null);
    const { data } = (await res.json()) as { data: Array<{ id: string; role: string; personal: boolean }> };
    expect(data.map((o) => [o.id, o.role, o.personal])).toEqual([[members.get('viewer')!.id, 'owner', true], [team, 'viewer', false]]);
  });

  it('without the header a user acts in their personal organisation; with it in the one named', async () => {
    const personal = await as(owner, 'GET', '/v1/agents', undefined, null);
    expect(((await personal.json()) as { data: unknown[] }).data).toEqual([]);
    const inOrg = await as(members.get('viewer')!, 'GET', '/v1/agents');
    expect(((await inOrg.json()) as { data: Array<{ id: string }> }).data.map((a) => a.id)).toEqual([teamAgent]);
    // The header's organisation, not the personal one: a personal agent is not visible there.
    const mine = await api.agent(owner.token, 'personal');
    expect((await as(owner, 'GET', `/v1/agents/${mine}`)).status).toBe(404);
    expect((await as(owner, 'GET', `/v1/agents/${mine}`, undefined, null)).status).toBe(200);
  });

  it('an organisation the caller does not belong to, or a malformed id, is a 404 with the error shape', async () => {
    for (const header of [team, owner.id, 'not-a-uuid']) {
      const res = await as(outsider, 'GET', '/v1/agents', undefined, header);
      expect(res.status).toBe(404);
      expect(await errorOf(res)).toMatchObject({ code: 'not_found', message: 'No such organisation' });
    }
    expect((await as(outsider, 'GET', `/v1/organisations/${team}`, undefined, null)).status).toBe(404);
    expect((await as(outsider, 'GET', `/v1/organisations/${team}/members`, undefined, null)).status).toBe(404);
  });
});

describe('roles', () => {
  const cases: Array<{ name: string; min: OrganisationRole; call: (m: Member) => Promise<Response>; ok: number }> = [
    { name: 'list agents', min: 'viewer', ok: 200, call: (m) => as(m, 'GET', '/v1/agents') },
    { name: 'get an agent', min: 'viewer', ok: 200, call: (m) => as(m, 'GET', `/v1/agents/${teamAgent}`) },
    { name: 'list keys', min: 'viewer', ok: 200, call: (m) => as(m, 'GET', '/v1/keys') },
    { name: 'list webhooks', min: 'viewer', ok: 200, call: (m) => as(m, 'GET', '/v1/webhooks') },
    { name: 'list members', min: 'viewer', ok: 200, call: (m) => as(m, 'GET', `/v1/organisations/${team}/members`) },
    { name: 'create an agent', min: 'developer', ok: 201, call: (m) => as(m, 'POST', '/v1/agents', { name: 'x' }) },
    { name: 'rename an agent', min: 'developer', ok: 200, call: (m) => as(m, 'PATCH', `/v1/agents/${teamAgent}`, { name: 'renamed' }) },
    { name: 'create a key', min: 'developer', ok: 201, call: (m) => as(m, 'POST', '/v1/keys', { name: 'k' }) },
    { name: 'create a webhook', min: 'developer', ok: 201, call: (m) => as(m, 'POST', '/v1/webhooks', { url: 'https://hooks.example.com/in' }) },
    { name: 'list invitations', min: 'admin', ok: 200, call: (m) => as(m, 'GET', `/v1/organisations/${team}/invitations`) },
    { name: 'invite', min: 'admin', ok: 201, call: (m) => invite(m, `new-${crypto.randomUUID()}@example.test`, 'viewer') },
    { name: 'rename the organisation', min: 'owner', ok: 200, call: (m) => as(m, 'PATCH', `/v1/organisations/${team}`, { name: 'Acme Ltd' }) },
  ];
  const order: OrganisationRole[] = ['viewer', 'developer', 'admin', 'owner'];

  for (const { name, min, call, ok } of cases) {
    it(`${name}: ${min} and above may, the roles below get a 403 with the error shape`, async () => {
      const results = [];
      for (const role of order) {
        const res = await call(members.get(role)!);
        results.push([role, res.status]);
        if (res.status === 403) expect((await errorOf(res)).code).toBe('forbidden');
      }
      const allowed = order.slice(order.indexOf(min));
      expect(results).toEqual(order.map((role) => [role, allowed.includes(role) ? ok : 403]));
    });
  }

  it('a viewer cannot send, link or delete; nothing changed', async () => {
    const viewer = members.get('viewer')!;
    expect((await as(viewer, 'POST', `/v1/agents/${teamAgent}/messages`, { to: '15550001111', type: 'text', text: 'hi' })).status).toBe(403);
    expect((await as(viewer, 'POST', `/v1/agents/${teamAgent}/session/link`, {})).status).toBe(403);
    expect((await as(viewer, 'POST', `/v1/agents/${teamAgent}/session/restart`, {})).status).toBe(403);
    expect((await as(viewer, 'DELETE', `/v1/agents/${teamAgent}`)).status).toBe(403);
    const [row] = await api.db.sql`select count(*)::int as n from public.messages where agent_id = ${teamAgent}`;
    expect(row!.n).toBe(0);
  });
});

describe('members and owners', () => {
  it('an admin cannot grant owner; an owner can, and the last owner cannot leave or be demoted', async () => {
    const admin = members.get('admin')!;
    const developer = members.get('developer')!;
    const refused = await as(admin, 'PATCH', `/v1/organisations/${team}/members/${developer.id}`, { role: 'owner' });
    expect(refused.status).toBe(409);
    expect((await errorOf(refused)).code).toBe('conflict');
    const leave = await as(owner, 'DELETE', `/v1/organisations/${team}/members/${owner.id}`);
    expect(leave.status).toBe(409);
    expect((await as(owner, 'PATCH', `/v1/organisations/${team}/members/${owner.id}`, { role: 'admin' })).status).toBe(409);
    expect((await as(admin, 'DELETE', `/v1/organisations/${team}/members/${owner.id}`)).status).toBe(409);
    const bad = await as(owner, 'PATCH', `/v1/organisations/${team}/members/${developer.id}`, { role: 'superuser' });
    expect(bad.status).toBe(400);
  });

  it('a viewer may leave on their own, and then the organisation is a 404 for them', async () => {
    const leaver = await person();
    const created = await invite(owner, leaver.email, 'viewer');
    const { token } = (await created.json()) as { token: string };
    expect((await as(leaver, 'POST', '/v1/invitations/accept', { token }, null)).status).toBe(200);
    expect((await as(leaver, 'DELETE', `/v1/organisations/${team}/members/${members.get('developer')!.id}`)).status).toBe(403);
    expect((await as(leaver, 'DELETE', `/v1/organisations/${team}/members/${leaver.id}`)).status).toBe(204);
    expect((await as(leaver, 'GET', '/v1/agents')).status).toBe(404);
  });

  it('a personal organisation is not deleted on its own; a team is, with its agents', async () => {
    expect((await as(owner, 'DELETE', `/v1/organisations/${owner.id}`, undefined, null)).status).toBe(409);
    const created = await as(owner, 'POST', '/v1/organisations', { name: 'Short-lived' }, null);
    const { id } = (await created.json()) as { id: string };
    const agent = ((await (await as(owner, 'POST', '/v1/agents', { name: 'a' }, id)).json()) as { id: string }).id;
    expect((await as(owner, 'DELETE', `/v1/organisations/${id}`, undefined, null)).status).toBe(204);
    expect(await api.db.sql`select 1 from public.agents where id = ${agent}`).toHaveLength(0);
  });
});

describe('invitations', () => {
  it('is accepted only by a user signed in with the invited address, and only once', async () => {
    const invitee = await person();
    const res = await invite(members.get('admin')!, invitee.email.toUpperCase(), 'developer');
    const { token, email, status } = (await res.json()) as { token: string; email: string; status: string };
    expect([email, status]).toEqual([invitee.email, 'open']);
    const [stored] = await api.db.sql`select token_hash from public.organisation_invitations where email = ${invitee.email}`;
    expect(Buffer.from(stored!.token_hash as Uint8Array).toString('utf8')).not.toContain(token);

    const wrong = await as(outsider, 'POST', '/v1/invitations/accept', { token }, null);
    expect(wrong.status).toBe(404);
    expect((await errorOf(wrong)).code).toBe('not_found');
    const noEmail = await api.call('POST', '/v1/invitations/accept', { token: await api.token(invitee.id), body: { token } });
    expect(noEmail.status).toBe(403);
    expect((await as(invitee, 'POST', '/v1/invitations/accept', { token }, null)).status).toBe(200);
    expect((await as(invitee, 'POST', '/v1/invitations/accept', { token }, null)).status).toBe(404);
    expect((await as(invitee, 'GET', '/v1/agents')).status).toBe(200);
  });

  it('a revoked invitation cannot be accepted, and the list shows it revoked without its token', async () => {
    const invitee = await person();
    const { id, token } = (await (await invite(owner, invitee.email, 'viewer')).json()) as { id: string; token: string };
    expect((await as(owner, 'DELETE', `/v1/organisations/${team}/invitations/${id}`)).status).toBe(204);
    expect((await as(invitee, 'POST', '/v1/invitations/accept', { token }, null)).status).toBe(404);
    const list = (await (await as(owner, 'GET', `/v1/organisations/${team}/invitations`)).json()) as { data: Array<Record<string, unknown>> };
    const row = list.data.find((i) => i.id === id)!;
    expect(row.status).toBe('revoked');
    expect(JSON.stringify(list)).not.toContain(token);
  });

  it('an admin cannot invite an owner; an address that is a member already is a conflict', async () => {
    expect((await invite(members.get('admin')!, 'boss@example.test', 'owner')).status).toBe(409);
    expect((await invite(owner, members.get('viewer')!.email, 'admin')).status).toBe(409);
  });
});

describe('keys and limits per organisation', () => {
  it('a key created in the organisation acts for it, and cannot be pointed at another', async () => {
    const created = await as(members.get('developer')!, 'POST', '/v1/keys', { name: 'ci', scopes: ['agents:read'] });
    const { key } = (await created.json()) as { key: string };
    const list = await api.call('GET', '/v1/agents', { token: key });
    expect(((await list.json()) as { data: Array<{ id: string }> }).data.map((a) => a.id)).toContain(teamAgent);
    const foreign = await api.call('GET', '/v1/agents', { token: key, headers: { 'x-organisation-id': members.get('developer')!.id } });
    expect(foreign.status).toBe(404);
    const same = await api.call('GET', '/v1/agents', { token: key, headers: { 'x-organisation-id': team } });
    expect(same.status).toBe(200);
  });

  it('the plan\'s agent limit counts the organisation\'s agents, whoever created them', async () => {
    const [{ n }] = (await api.db.sql`select count(*)::int as n from public.agents where owner_id = ${team}`) as unknown as [{ n: number }];
    for (let i = n; i < 5; i++) expect((await as(i % 2 ? owner : members.get('developer')!, 'POST', '/v1/agents', { name: `a${i}` })).status).toBe(201);
    const over = await as(members.get('admin')!, 'POST', '/v1/agents', { name: 'one too many' });
    expect(over.status).toBe(403);
    expect((await errorOf(over)).code).toBe('plan_limit');
    // The members' personal organisations are on plans of their own.
    expect((await as(members.get('admin')!, 'POST', '/v1/agents', { name: 'mine' }, null)).status).toBe(201);
  });
});
