import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import {
  chooseDbLocation,
  classifyFsType,
  defaultDbPath,
  NETWORK_FS_MAGIC,
  probeFsType,
} from './fs-detect.ts';

describe('classifyFsType', () => {
  it('names every network file system magic', () => {
    expect(classifyFsType(0x6969)).toBe('nfs');
    expect(classifyFsType(0xff534d42)).toBe('smb');
    expect(classifyFsType(0xfe534d42)).toBe('smb');
    expect(classifyFsType(0x0bd00bd0)).toBe('lustre');
    expect(classifyFsType(0x47504653)).toBe('gpfs');
    expect(classifyFsType(0x00c36400)).toBe('ceph');
    expect(classifyFsType(0x19830326)).toBe('beegfs');
    expect(classifyFsType(0x65735546)).toBe('fuse');
    expect(classifyFsType(0x5346414f)).toBe('afs');
    expect(classifyFsType(0x01021997)).toBe('9p');
    expect(Object.values(NETWORK_FS_MAGIC).flat()).toHaveLength(10);
  });

  it('accepts magics above 2^31 delivered as signed 32-bit values', () => {
    expect(classifyFsType(0xff534d42 | 0)).toBe('smb'); // negative
  });

  it('treats local file systems as local', () => {
    expect(classifyFsType(0xef53)).toBeUndefined(); // ext4
    expect(classifyFsType(0x58465342)).toBeUndefined(); // xfs
    expect(classifyFsType(0x01021994)).toBeUndefined(); // tmpfs
    expect(classifyFsType(0x794c7630)).toBeUndefined(); // overlayfs
    expect(classifyFsType(0x9123683e)).toBeUndefined(); // btrfs
  });
});

describe('chooseDbLocation', () => {
  it('keeps state.db under the root on local storage', () => {
    const loc = chooseDbLocation({
      root: '/home/u/.scitex/agent-container',
      fsType: 0xef53,
      uid: 1000,
    });
    expect(loc).toEqual({
      path: '/home/u/.scitex/agent-container/runtime/state.db',
      networkFs: undefined,
      relocated: false,
    });
    expect(defaultDbPath('/r')).toBe('/r/runtime/state.db');
  });

  it('assumes local storage when the type is unknown', () => {
    expect(chooseDbLocation({ root: '/r', fsType: undefined, uid: 1 }).relocated).toBe(false);
  });

  it('moves state.db to node-local storage on a network file system', () => {
    const loc = chooseDbLocation({
      root: '/nfs/home/u/.scitex/agent-container',
      fsType: 0x6969,
      uid: 1000,
    });
    expect(loc.relocated).toBe(true);
    expect(loc.networkFs).toBe('nfs');
    expect(loc.path).toMatch(/^\/var\/tmp\/sac-1000\/[0-9a-f]{12}\/state\.db$/);
    expect(loc.reason).toContain('nfs');
    expect(loc.reason).toContain(loc.path);
  });

  it('keys the node-local path by root, deterministically', () => {
    const a = chooseDbLocation({ root: '/a', fsType: 0x0bd00bd0, uid: 5, localBase: '/x' });
    const a2 = chooseDbLocation({ root: '/a', fsType: 0x0bd00bd0, uid: 5, localBase: '/x' });
    const b = chooseDbLocation({ root: '/b', fsType: 0x0bd00bd0, uid: 5, localBase: '/x' });
    expect(a.path).toBe(a2.path);
    expect(a.path).not.toBe(b.path);
    expect(a.path.startsWith('/x/sac-5/')).toBe(true);
  });
});

describe('probeFsType', () => {
  it('probes the nearest existing ancestor', () => {
    const t = probeFsType(`${tmpdir()}/does/not/exist/yet`);
    expect(typeof t).toBe('number');
    expect(t).toBe(probeFsType(tmpdir()));
  });
});
