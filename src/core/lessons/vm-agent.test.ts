import { describe, expect, it } from 'vitest';
import { VmAgentClient } from './vm-agent.ts';
import { toBase64 } from './base64.ts';

const feed = (c: VmAgentClient, text: string) => [...text].forEach((ch) => c.receiveByte(ch.charCodeAt(0)));

describe('VmAgentClient', () => {
  it('sends one base64 line per script and matches answers by id, whatever arrives around them', async () => {
    const sent: string[] = [];
    const c = new VmAgentClient((t) => sent.push(t));
    feed(c, 'noise\r\n@@lesson ready\n');
    expect(c.ready).toBe(true);
    const a = c.run('echo é; exit 3');
    const b = c.run('true');
    expect(sent[0]).toBe(`run 1 ${toBase64('echo é; exit 3')}\n`);
    feed(c, `@@lesson 2 0 \n@@lesson 1 3 ${toBase64('é\n')}\r\n`);
    expect(await a).toEqual({ code: 3, output: 'é\n' });
    expect(await b).toEqual({ code: 0, output: '' });
  });

  it('rejects when no answer comes in time and when the script is too long for one line', async () => {
    const c = new VmAgentClient(() => {});
    await expect(c.run('true', 20)).rejects.toThrow(/did not answer in 20 ms/);
    await expect(c.run('x'.repeat(5000))).rejects.toThrow(/too long/);
  });
});
