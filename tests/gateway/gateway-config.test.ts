// The gateway function's configuration: one schema, defaults from the app's defaults, and a
// missing or malformed variable refused at start with its name (never a silent fallback).
import { describe, expect, it } from 'vitest';
import { configFromEnv, loadGatewayEnv } from '../../edge-functions/gateway/config.ts';
import { DEFAULT_CONFIG } from '../../edge-functions/gateway/types.ts';

const base = {
  SUPABASE_DB_URL: 'postgresql://gateway_api@127.0.0.1:1/none',
  SUPABASE_URL: 'https://project.supabase.test',
  WEBHOOK_SECRETS_KEY: 'ab'.repeat(32),
  MEDIA_STORE: 'folder',
  MEDIA_STORE_DIR: '/nonexistent/wg-media',
};

function problem(env: Record<string, string | undefined>): string {
  try {
    loadGatewayEnv(env);
    return 'no error';
  } catch (error) {
    return (error as Error).message;
  }
}

describe('gateway config', () => {
  it('applies the defaults the app documents', () => {
    expect(configFromEnv({})).toEqual(DEFAULT_CONFIG);
    const e = loadGatewayEnv({ ...base, SUPABASE_JWKS: '[]', GATEWAY_TRUST_PROXY: 'false', GATEWAY_MAX_MEDIA_BYTES: '' });
    expect(e).toMatchObject({ DB_POOL_MAX: 5, LOG_LEVEL: 'info', GATEWAY_TRUST_PROXY: false, GATEWAY_MAX_MEDIA_BYTES: DEFAULT_CONFIG.maxMediaBytes });
    expect(e.SUPABASE_JWKS).toEqual({ keys: [] });
  });

  it('names a missing or malformed variable', () => {
    expect(problem({ ...base, SUPABASE_URL: undefined })).toMatch(/^SUPABASE_URL: is required/);
    expect(problem({ ...base, SUPABASE_DB_URL: undefined })).toMatch(/^SUPABASE_DB_URL: is required \(or DB_POOLER_URL\)/);
    expect(problem({ ...base, SUPABASE_DB_URL: undefined, DB_POOLER_URL: 'postgresql://gateway_api@pooler:6543/postgres' })).toBe('no error');
    expect(problem({ ...base, DB_POOLER_URL: 'mysql://x' })).toMatch(/^DB_POOLER_URL:/);
    expect(problem({ ...base, DB_POOL_MAX: 'five' })).toMatch(/^DB_POOL_MAX:/);
    expect(problem({ ...base, GATEWAY_MAX_MEDIA_BYTES: '10MB' })).toMatch(/^GATEWAY_MAX_MEDIA_BYTES:/);
    expect(problem({ ...base, GATEWAY_TRUST_PROXY: 'yes' })).toMatch(/^GATEWAY_TRUST_PROXY:/);
    expect(problem({ ...base, SUPABASE_JWKS: '{not json' })).toMatch(/^SUPABASE_JWKS: must be JSON/);
    expect(problem({ ...base, LOG_LEVEL: 'loud' })).toMatch(/^LOG_LEVEL:/);
    expect(problem({ ...base, MEDIA_STORE: 'disk' })).toMatch(/^MEDIA_STORE: must be supabase or folder/);
    expect(problem({ ...base, WEBHOOK_SECRETS_KEY: 'short' })).toMatch(/^WEBHOOK_SECRETS_KEY: must be 32/);
    expect(problem({ ...base, GATEWAY_JWT_ALLOW_HS256: 'true' })).toMatch(/^GATEWAY_JWT_SECRET: is required/);
  });
});
