import { describe, expect, it } from 'vitest';
import { errorText } from './errors.ts';

describe('errorText', () => {
  it("gives an Error's message, a thrown string as is, and anything else as a string", () => {
    expect(errorText(new TypeError('disk image not found'))).toBe('disk image not found');
    expect(errorText('the worker stopped')).toBe('the worker stopped');
    expect(errorText(404)).toBe('404');
    expect(errorText(undefined)).toBe('undefined');
  });

  it('drops the "Error: " an error carries in its text after crossing a worker', () => {
    expect(errorText(new Error('Error: snapshot is from another v86 build'))).toBe('snapshot is from another v86 build');
    expect(errorText('Error: quota exceeded')).toBe('quota exceeded');
  });
});
