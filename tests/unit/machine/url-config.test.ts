import { describe, it, expect } from 'vitest';
import { parseConfig, formatConfig, DEFAULT_CONFIG } from '../../../src/core/machine/url-config.ts';

describe('URL config', () => {
  it('reads a race setup', () => {
    const { config, errors } = parseConfig('?vms=3&containers=6&mode=warm');
    expect(errors).toEqual([]);
    expect(config).toMatchObject({ page: 'race', vms: 3, containers: 6, mode: 'warm', autostart: false });
  });

  it('uses the defaults for an empty query', () => {
    expect(parseConfig('')).toEqual({ config: DEFAULT_CONFIG, errors: [] });
    // As with Docker: by default the containers start on a host that is already running.
    expect(DEFAULT_CONFIG.mode).toBe('warm');
  });

  it.each([
    ['?vms=7', 'vms', /vms must be from 0 to 6, got 7/],
    ['?vms=two', 'vms', /vms must be a whole number from 0 to 6, got "two"/],
    ['?vms=-1', 'vms', /whole number/],
    ['?vms=1.5', 'vms', /whole number/],
    ['?containers=13', 'containers', /containers must be from 0 to 12, got 13/],
    ['?mode=hot', 'mode', /mode must be "cold" or "warm", got "hot"/],
    ['?page=admin', 'page', /page must be "race" or "lab"/],
    ['?vm9.disk=/x.img', 'vm9.disk', /there is no VM 9/],
    ['?color=red', 'color', /unknown setting "color"/],
    ['?vms=%E0%A4%A', 'vms', /not valid URL encoding/],
    ['?vms=0&containers=0', 'vms', /at least one VM or one container/],
    ['?autostart=maybe', 'autostart', /autostart must be 1 or 0/],
  ])('%s → a clear error on %s', (q, param, message) => {
    const { config, errors } = parseConfig(q);
    expect(errors).toHaveLength(1);
    expect(errors[0].param).toBe(param);
    expect(errors[0].message).toMatch(message);
    // A bad value never leaves the page without a usable setup.
    expect(config.vms + config.containers).toBeGreaterThan(0);
    expect(config.vms).toBeLessThanOrEqual(6);
  });

  it('clamps an out-of-range count to the nearest limit', () => {
    expect(parseConfig('?vms=99').config.vms).toBe(6);
  });

  it('takes per-VM disk overrides and autostart', () => {
    const { config, errors } = parseConfig('?vms=2&vm2.disk=%2Fimages%2Fvm%2Fmissing.img&autostart=1');
    expect(errors).toEqual([]);
    expect(config.vmDisks).toEqual({ 2: '/images/vm/missing.img' });
    expect(config.autostart).toBe(true);
  });

  it('knows the compare page and keeps it through formatConfig', () => {
    const { config, errors } = parseConfig('?page=compare');
    expect(errors).toEqual([]);
    expect(config.page).toBe('compare');
    expect(parseConfig(formatConfig(config)).config.page).toBe('compare');
  });

  it('round-trips through formatConfig', () => {
    const { config } = parseConfig('?page=lab&vms=4&containers=0&mode=warm&vm1.disk=a%20b.img&autostart=1');
    const again = parseConfig(formatConfig(config));
    expect(again.errors).toEqual([]);
    expect(again.config).toEqual(config);
  });

  it('opens a lesson in the lab at a step, by name or by a folder URL, and refuses anything else', () => {
    const { config, errors } = parseConfig('?lesson=one-kernel&step=2');
    expect(errors).toEqual([]);
    expect(config).toMatchObject({ page: 'lab', lesson: 'one-kernel', step: 2 });
    expect(parseConfig(formatConfig(config)).config).toEqual(config);
    expect(parseConfig('?lesson=https%3A%2F%2Fexample.org%2Flessons%2Fmine%2F').config.lesson).toBe('https://example.org/lessons/mine/');
    const bad = parseConfig('?lesson=%3Cscript%3E&step=0');
    expect(bad.config.lesson).toBeUndefined();
    expect(bad.errors.map((e) => e.param)).toEqual(['lesson', 'step']);
    expect(parseConfig('?page=class').config.page).toBe('class');
  });
});
