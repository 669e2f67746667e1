import { describe, expect, it } from 'vitest';
import { refusedOrigin } from './remote.ts';

describe('where a lesson folder may come from', () => {
  const page = 'https://stacklab.example/?lesson=x';
  it('the page itself, any https site, and http on the local machine', () => {
    for (const folder of ['/lessons/a/', './b/', 'https://teacher.example.org/c/', 'http://localhost:8000/d/', 'http://127.0.0.1:9/e/'])
      expect(refusedOrigin(folder, page), folder).toBeUndefined();
    expect(refusedOrigin('http://stacklab.test:5173/x/', 'http://stacklab.test:5173/')).toBeUndefined();
  });
  it('not http from another machine, nor other schemes, with a sentence saying what to do', () => {
    expect(refusedOrigin('http://teacher.example.org/c/', page)).toBe(
      'http:// is not fetched from another site: serve the lesson folder over https:// (or from localhost while you write it)',
    );
    expect(refusedOrigin('ftp://files.example.org/c/', page)).toMatch(/^ftp:\/\/ is not fetched/);
  });
});
