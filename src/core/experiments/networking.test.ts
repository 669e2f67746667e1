import { describe, it, expect } from 'vitest';
import { mbPerSecond, parsePing, parseTransfer, transferCommand } from './networking.ts';

const PING = `PING 10.86.0.12 (10.86.0.12): 56 data bytes
64 bytes from 10.86.0.12: seq=0 ttl=64 time=50.563 ms
64 bytes from 10.86.0.12: seq=1 ttl=64 time=3.186 ms
64 bytes from 10.86.0.12: seq=2 ttl=64 time=2.003 ms
64 bytes from 10.86.0.12: seq=3 ttl=64 time=2.071 ms

--- 10.86.0.12 ping statistics ---
4 packets transmitted, 4 packets received, 0% packet loss
round-trip min/avg/max = 2.003/14.455/50.563 ms
`;

describe('networking parsers', () => {
  it('reads busybox ping: every reply, the summary and a median that ignores the ARP outlier', () => {
    const p = parsePing(PING);
    expect(p).toMatchObject({ sent: 4, received: 4, minMs: 2.003, avgMs: 14.455, maxMs: 50.563 });
    expect(p.timesMs).toEqual([50.563, 3.186, 2.003, 2.071]);
    expect(p.medianMs).toBeCloseTo((2.071 + 3.186) / 2, 6);
  });

  it('a ping with no reply is an error, not a figure', () => {
    expect(() =>
      parsePing(
        'PING 10.86.0.12 (10.86.0.12): 56 data bytes\n\n--- 10.86.0.12 ping statistics ---\n3 packets transmitted, 0 packets received, 100% packet loss\n',
      ),
    ).toThrow(/no ping reply/);
    expect(() => parsePing('ping: sendto: Network is unreachable')).toThrow(/no statistics/);
  });

  it('reads a timed download: two /proc/uptime lines around the byte count', () => {
    expect(transferCommand('http://10.86.0.12/blob')).toContain('wget -q -O - http://10.86.0.12/blob | wc -c');
    const t = parseTransfer('123.45 200.00\n1048576\n124.00 201.10\n', 812);
    expect(t).toEqual({ bytes: 1048576, guestMs: 550, wallMs: 812 });
    expect(mbPerSecond(t.bytes, t.guestMs)).toBeCloseTo(1.9065, 3);
    expect(() => parseTransfer("wget: can't connect to remote host\n0\n", 10)).toThrow(/timing/);
  });
});
