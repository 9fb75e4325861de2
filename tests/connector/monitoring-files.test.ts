// The Grafana dashboard and the Prometheus alert rules in docs/monitoring/ cannot drift from the
// connector: every wa_gateway_ metric their PromQL names exists in the connector's registry (a
// histogram's _bucket/_sum/_count included), every label they select on is one of its labels,
// and docs/monitoring.md documents every metric and every alert. Read as text: the rules file
// keeps a fixed shape (see its header), so a few line patterns read it without a YAML library.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Sql } from 'postgres';
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../connector/metrics.ts';
import { repoRoot } from '../../scripts/db/migrate.ts';

const read = (file: string) => readFileSync(path.join(repoRoot, file), 'utf8');

function registry(): Map<string, { type: string; labels: string[] }> {
  const metrics = createMetrics();
  // The fleet gauges exist once a database is bound; nothing is queried until a scrape.
  metrics.observe({ sessions: { holdings: () => [] }, sql: {} as Sql });
  const out = new Map<string, { type: string; labels: string[] }>();
  for (const m of metrics.registry.getMetricsAsArray()) {
    const { name, type, labelNames } = m as unknown as { name: string; type: string; labelNames: string[] };
    if (name.startsWith('wa_gateway_')) out.set(name, { type: String(type), labels: [...labelNames] });
  }
  return out;
}

/** Metric names in a PromQL expression, with the label names of the selector right after each. */
function references(expr: string): Array<{ name: string; labels: string[] }> {
  return [...expr.matchAll(/\b(wa_gateway_[a-z0-9_]+)(\{[^}]*\})?/g)].map((m) => ({
    name: m[1]!,
    labels: [...(m[2] ?? '').matchAll(/([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)/g)].map((l) => l[1]!),
  }));
}

function resolve(metrics: ReturnType<typeof registry>, ref: { name: string; labels: string[] }): string | undefined {
  const direct = metrics.get(ref.name);
  const base = ref.name.replace(/_(bucket|sum|count)$/, '');
  const histogram = base !== ref.name && metrics.get(base)?.type === 'histogram' ? metrics.get(base) : undefined;
  const metric = direct ?? histogram;
  if (!metric) return `${ref.name}: no such metric`;
  const allowed = [...metric.labels, ...(histogram && ref.name.endsWith('_bucket') ? ['le'] : [])];
  const unknown = ref.labels.filter((l) => !allowed.includes(l));
  return unknown.length ? `${ref.name}: no label ${unknown.join(', ')}` : undefined;
}

function dashboardExprs(): string[] {
  const exprs: string[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === 'object') {
      for (const [key, value] of Object.entries(node)) {
        if (key === 'expr' && typeof value === 'string') exprs.push(value);
        else walk(value);
      }
    }
  };
  walk(JSON.parse(read('docs/monitoring/grafana-dashboard.json')));
  return exprs;
}

interface Rule {
  alert: string;
  expr: string;
  severity?: string;
  summary?: string;
}

function alertRules(): Rule[] {
  const rules: Rule[] = [];
  for (const line of read('docs/monitoring/alerts.yml').split('\n')) {
    const alert = /^\s+- alert: (\S+)$/.exec(line);
    if (alert) rules.push({ alert: alert[1]! } as Rule);
    const current = rules.at(-1);
    const expr = /^\s+expr: (.+)$/.exec(line);
    if (expr && current) current.expr = expr[1]!;
    const severity = /^\s+severity: (critical|warning|info)$/.exec(line);
    if (severity && current) current.severity = severity[1]!;
    const summary = /^\s+summary: "(.+)"$/.exec(line);
    if (summary && current) current.summary = summary[1]!;
  }
  return rules;
}

describe('docs/monitoring stays in step with the connector\'s metrics', () => {
  const metrics = registry();

  it('reads the registry, the dashboard and the rules (the checks below are not vacuous)', () => {
    expect(metrics.size).toBeGreaterThan(25);
    expect(dashboardExprs().length).toBeGreaterThan(25);
    expect(alertRules().length).toBeGreaterThan(15);
    expect(resolve(metrics, { name: 'wa_gateway_no_such_metric', labels: [] })).toBeDefined();
    expect(resolve(metrics, { name: 'wa_gateway_session_disconnects_total', labels: ['agent_id'] })).toBeDefined();
    expect(resolve(metrics, { name: 'wa_gateway_sessions_bucket', labels: ['le'] })).toBeDefined();
  });

  it('every metric and label the Grafana dashboard queries exists', () => {
    const problems = dashboardExprs().flatMap((e) => references(e).map((r) => resolve(metrics, r))).filter(Boolean);
    expect(problems).toEqual([]);
  });

  it('every metric and label the alert rules query exists, and each rule has a severity and a summary', () => {
    const rules = alertRules();
    for (const rule of rules) {
      expect(rule, rule.alert).toMatchObject({ expr: expect.any(String), severity: expect.any(String), summary: expect.any(String) });
    }
    const problems = rules.flatMap((r) => references(r.expr).map((ref) => resolve(metrics, ref) && `${r.alert}: ${resolve(metrics, ref)}`)).filter(Boolean);
    expect(problems).toEqual([]);
    expect(new Set(rules.map((r) => r.alert)).size).toBe(rules.length);
  });

  it('the seeds\' alert list has its rules (000: 401, repeated 401s, disconnected > 5 min, conflict, heartbeat > 5 min; 002: key counts)', () => {
    const byName = new Map(alertRules().map((r) => [r.alert, r]));
    expect(byName.get('WaGatewaySessionLoggedOut')?.expr).toContain('code="401"');
    expect(byName.get('WaGatewayRepeatedLogouts')?.expr).toMatch(/code="401"\}\[24h\]\)\) >= 2$/);
    expect(byName.get('WaGatewayFleetSessionDisconnected')?.expr).toMatch(/> 300$/);
    expect(byName.get('WaGatewayInstanceConflict')?.expr).toContain('code="440"');
    expect(byName.get('WaGatewayHeartbeatFailing')?.expr).toMatch(/> 300$/);
    for (const level of ['warn', 'prune', 'critical']) expect([...byName.values()].some((r) => r.expr.includes(`level="${level}"`))).toBe(true);
  });

  it('docs/monitoring.md documents every metric and every alert', () => {
    const doc = read('docs/monitoring.md');
    expect([...metrics.keys()].filter((name) => !doc.includes(`\`${name}\``))).toEqual([]);
    expect(alertRules().filter((r) => !doc.includes(r.alert)).map((r) => r.alert)).toEqual([]);
  });
});
