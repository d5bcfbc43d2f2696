import { describe, expect, it } from 'vitest';
import {
  AUDIT_ARCH,
  BPF_JEQ_K,
  BPF_JGE_K,
  BPF_JSET_K,
  BPF_LD_W_ABS,
  BPF_RET_K,
  CLONE_NEWUSER,
  ENOSYS,
  EPERM,
  SECCOMP_RET_ALLOW,
  SECCOMP_RET_ERRNO,
  SYSCALLS,
  encodeSockFilters,
  namespaceSeccompFilter,
  seccompInstructions,
} from './seccomp.ts';

/** A minimal classic-BPF interpreter for the opcodes the filter uses, run over encoded bytes. */
function run(prog: Buffer, data: { nr: number; arch: number; arg0?: number }): number {
  const mem = Buffer.alloc(64);
  mem.writeInt32LE(data.nr, 0);
  mem.writeUInt32LE(data.arch, 4);
  mem.writeBigUInt64LE(BigInt(data.arg0 ?? 0), 16);
  let acc = 0;
  for (let pc = 0; pc < prog.length / 8; pc++) {
    const code = prog.readUInt16LE(pc * 8);
    const jt = prog.readUInt8(pc * 8 + 2);
    const jf = prog.readUInt8(pc * 8 + 3);
    const k = prog.readUInt32LE(pc * 8 + 4);
    switch (code) {
      case BPF_LD_W_ABS:
        acc = mem.readUInt32LE(k);
        break;
      case BPF_JEQ_K:
        pc += acc === k ? jt : jf;
        break;
      case BPF_JGE_K:
        pc += acc >= k ? jt : jf;
        break;
      case BPF_JSET_K:
        pc += (acc & k) !== 0 ? jt : jf;
        break;
      case BPF_RET_K:
        return k;
      default:
        throw new Error(`unexpected opcode ${code}`);
    }
  }
  throw new Error('fell off the end of the program');
}

const EPERM_RET = SECCOMP_RET_ERRNO | EPERM;
const ENOSYS_RET = SECCOMP_RET_ERRNO | ENOSYS;
const FORK_FLAGS = 0x01200011; // glibc fork(): CLONE_CHILD_SETTID|CLONE_CHILD_CLEARTID|SIGCHLD
const THREAD_FLAGS = 0x003d0f00; // pthread_create

describe('namespace seccomp filter', () => {
  const prog = namespaceSeccompFilter();

  it('is a whole number of 8-byte sock_filter entries within the kernel limit', () => {
    expect(prog.length % 8).toBe(0);
    expect(prog.length / 8).toBeLessThan(4096);
    expect(prog.equals(encodeSockFilters(seccompInstructions()))).toBe(true);
  });

  it('encodes code, jt, jf and k little-endian', () => {
    const b = encodeSockFilters([{ code: 0x15, jt: 2, jf: 7, k: 0xc000003e }]);
    expect([...b]).toEqual([0x15, 0x00, 0x02, 0x07, 0x3e, 0x00, 0x00, 0xc0]);
  });

  for (const [name, arch] of Object.entries(AUDIT_ARCH)) {
    const t = SYSCALLS[name as keyof typeof AUDIT_ARCH];
    describe(name, () => {
      it('denies unshare and setns with EPERM, whatever the flags', () => {
        expect(run(prog, { arch, nr: t.unshare, arg0: CLONE_NEWUSER })).toBe(EPERM_RET);
        expect(run(prog, { arch, nr: t.unshare, arg0: 0 })).toBe(EPERM_RET);
        expect(run(prog, { arch, nr: t.setns })).toBe(EPERM_RET);
      });
      it('denies clone3 with ENOSYS so libc falls back to clone', () => {
        expect(run(prog, { arch, nr: t.clone3 })).toBe(ENOSYS_RET);
      });
      it('denies clone with CLONE_NEWUSER, allows fork and thread clones', () => {
        expect(run(prog, { arch, nr: t.clone, arg0: CLONE_NEWUSER | 0x11 })).toBe(EPERM_RET);
        expect(run(prog, { arch, nr: t.clone, arg0: FORK_FLAGS })).toBe(SECCOMP_RET_ALLOW);
        expect(run(prog, { arch, nr: t.clone, arg0: THREAD_FLAGS })).toBe(SECCOMP_RET_ALLOW);
      });
      it('allows ordinary syscalls', () => {
        for (const nr of [0, 1, 2, 3, 59, 60, 221, 231]) {
          if (Object.values(t).includes(nr)) continue;
          expect(run(prog, { arch, nr })).toBe(SECCOMP_RET_ALLOW);
        }
      });
    });
  }

  it('denies the whole x32 ABI on x86-64', () => {
    const arch = AUDIT_ARCH.X86_64;
    expect(run(prog, { arch, nr: 0x40000000 | 272 })).toBe(EPERM_RET);
    expect(run(prog, { arch, nr: 0x40000000 | 1 })).toBe(EPERM_RET);
  });

  it('does not filter unknown architectures', () => {
    expect(run(prog, { arch: 0x80000016 /* s390x */, nr: 303 })).toBe(SECCOMP_RET_ALLOW);
  });
});
