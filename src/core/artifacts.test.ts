import { describe, expect, it } from 'vitest';
import { artifactPath, type ImageIntegrity } from './artifacts.ts';

const files = { 'host/bzImage': 'aa', 'vm/disk.img': 'bb' };

describe('artifactPath', () => {
  it('in the page: any URL ending in /images/<file>, query and hash ignored', () => {
    const page: ImageIntegrity = { files, disks: {} };
    expect(artifactPath(page, 'https://lab.example/stacklab/images/host/bzImage?v=3')).toBe('host/bzImage');
    expect(artifactPath(page, '/images/vm/disk.img#x')).toBe('vm/disk.img');
    expect(artifactPath(page, '/elsewhere/host/bzImage')).toBeUndefined();
    expect(artifactPath(page, '/images/host/bzImage.old')).toBeUndefined();
  });

  it('with a base (the headless race): only that folder, exactly', () => {
    const node: ImageIntegrity = { files, disks: {}, base: 'file:///repo/images/dist/' };
    expect(artifactPath(node, 'file:///repo/images/dist/host/bzImage')).toBe('host/bzImage');
    // A disk from elsewhere (race --vm-disk) is not the build's disk, whatever its name.
    expect(artifactPath(node, 'file:///tmp/mine/images/vm/disk.img')).toBeUndefined();
    expect(artifactPath(node, 'file:///repo/images/dist/sub/host/bzImage')).toBeUndefined();
  });
});
