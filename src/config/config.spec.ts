import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, PROJECT_ROOT } from './config.ts';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function configFile(contents: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'faceserver-config-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'config.json'), contents);
  return join(dir, 'config.json');
}

describe('loadConfig', () => {
  it('reads config/default.json: loopback, port 8080, the contract defaults, dirs under the project', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ host: '127.0.0.1', port: 8080, matching: { defaultThreshold: 0.45, defaultTopK: 5 } });
    expect(config.dataDir).toBe(join(PROJECT_ROOT, 'data'));
    expect(config.pipeline.pad.threshold).toBe(0.81);
  });

  it('lets the environment override the file', () => {
    const config = loadConfig({ PORT: '9090', HOST: '0.0.0.0', DATA_DIR: '/var/lib/faces', PIPELINE_WORKERS: '3' });
    expect(config).toMatchObject({ port: 9090, host: '0.0.0.0', dataDir: '/var/lib/faces', pipeline: { workers: 3 } });
  });

  it.each([
    ['a port that is not a number', { PORT: 'eighty' }, /port/],
    ['a port out of range', { PORT: '70000' }, /port/],
    ['zero workers', { PIPELINE_WORKERS: '0' }, /pipeline\.workers/],
  ])('refuses %s, naming the key', (_, env, key) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(key);
  });

  it('refuses unknown keys, out-of-range values and unreadable files', () => {
    expect(() => loadConfig({ CONFIG_FILE: configFile('{"prot": 80}') })).toThrow(/prot/);
    expect(() => loadConfig({ CONFIG_FILE: configFile('{"pipeline": {"pad": {"threshold": 1.5}}}') })).toThrow(/pipeline\.pad\.threshold/);
    expect(() => loadConfig({ CONFIG_FILE: configFile('{not json') })).toThrow(/not valid JSON/);
    expect(() => loadConfig({ CONFIG_FILE: '/nonexistent/config.json' })).toThrow(/cannot read config file/);
  });
});
