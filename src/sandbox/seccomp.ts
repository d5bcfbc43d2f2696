/**
 * A classic-BPF seccomp program that stops an agent from creating or entering namespaces.
 *
 * Why: as root, bwrap cannot use `--disable-userns` (it needs `--unshare-user`), and the host allows
 * unprivileged user namespaces, so without this filter `unshare -r` inside the sandbox gives the
 * agent "root" in a fresh user namespace: new mount/net namespaces, kernel attack surface
 * (recipe gotcha 10). The program is handed to `bwrap --seccomp FD` as raw `struct sock_filter[]`.
 *
 * Denied, on every architecture the program knows:
 * - `unshare` (any flags) → EPERM. Unprivileged callers can only use it for user namespaces anyway.
 * - `clone` with `CLONE_NEWUSER` in its flags → EPERM. Plain fork/thread clones pass.
 * - `clone3` → ENOSYS. Its flags live in a struct in memory that BPF cannot read, so it is refused
 *   as "not implemented": glibc (and Bun/Go runtimes) then fall back to `clone`, which is checked.
 *   sandbox-runtime and flatpak do the same.
 * - `setns` → EPERM. Joining a namespace needs CAP_SYS_ADMIN over it, which the agent lacks, except
 *   for a user namespace its own uid created outside (reachable over abstract sockets with network
 *   host). Nothing an agent legitimately runs needs it, so it is closed too.
 * - x86-64 only: every x32-ABI call (`nr | 0x40000000`) → EPERM, so the table cannot be sidestepped
 *   through the x32 numbers.
 *
 * Architectures: x86-64 and its i386 compat entry (`int 0x80` works from 64-bit processes too, so it
 * must be filtered), aarch64 and its 32-bit ARM compat entry. **Any other architecture is allowed
 * unfiltered**: the sandbox there still drops the uid and capabilities, but nested user namespaces
 * stay possible, which `check` should report.
 * @module
 */

/** Audit architecture tokens (linux/audit.h) as they appear in `seccomp_data.arch`. */
export const AUDIT_ARCH = {
  X86_64: 0xc000003e,
  I386: 0x40000003,
  AARCH64: 0xc00000b7,
  ARM: 0x40000028,
} as const;

/** Syscall numbers per architecture for the calls the filter inspects. */
export interface SyscallTable {
  unshare: number;
  clone: number;
  clone3: number;
  setns: number;
}

export const SYSCALLS: Record<keyof typeof AUDIT_ARCH, SyscallTable> = {
  X86_64: { unshare: 272, clone: 56, clone3: 435, setns: 308 },
  I386: { unshare: 310, clone: 120, clone3: 435, setns: 346 },
  AARCH64: { unshare: 97, clone: 220, clone3: 435, setns: 268 },
  ARM: { unshare: 337, clone: 120, clone3: 435, setns: 375 },
};

export const CLONE_NEWUSER = 0x10000000;
export const X32_SYSCALL_BIT = 0x40000000;
export const SECCOMP_RET_ALLOW = 0x7fff0000;
export const SECCOMP_RET_ERRNO = 0x00050000;
export const EPERM = 1;
export const ENOSYS = 38;

// BPF opcodes (linux/filter.h): class | size | mode, and jump conditions with an immediate operand.
export const BPF_LD_W_ABS = 0x20;
export const BPF_JEQ_K = 0x15;
export const BPF_JGE_K = 0x35;
export const BPF_JSET_K = 0x45;
export const BPF_RET_K = 0x06;

// struct seccomp_data: int nr; __u32 arch; __u64 instruction_pointer; __u64 args[6];
const OFF_NR = 0;
const OFF_ARCH = 4;
const OFF_ARG0_LO = 16; // low 32 bits of args[0] on little-endian hosts (all four arches above)

/** One decoded instruction: `struct sock_filter { u16 code; u8 jt; u8 jf; u32 k; }`. */
export interface SockFilter {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

// A tiny assembler: jumps name a label, resolved to relative offsets once the program is laid out.
type Asm =
  | { op: 'ld'; off: number }
  | { op: 'jmp'; code: number; k: number; jt: string | null; jf: string | null }
  | { op: 'ret'; k: number }
  | { op: 'label'; name: string };

const ALLOW = SECCOMP_RET_ALLOW;
const DENY_EPERM = SECCOMP_RET_ERRNO | EPERM;
const DENY_ENOSYS = SECCOMP_RET_ERRNO | ENOSYS;

function archSection(name: keyof typeof AUDIT_ARCH): Asm[] {
  const t = SYSCALLS[name];
  const lbl = (s: string): string => `${name}_${s}`;
  return [
    { op: 'label', name: lbl('start') },
    { op: 'ld', off: OFF_NR },
    ...(name === 'X86_64'
      ? [{ op: 'jmp', code: BPF_JGE_K, k: X32_SYSCALL_BIT, jt: 'eperm', jf: null } as const]
      : []),
    { op: 'jmp', code: BPF_JEQ_K, k: t.unshare, jt: 'eperm', jf: null },
    { op: 'jmp', code: BPF_JEQ_K, k: t.setns, jt: 'eperm', jf: null },
    { op: 'jmp', code: BPF_JEQ_K, k: t.clone3, jt: 'enosys', jf: null },
    { op: 'jmp', code: BPF_JEQ_K, k: t.clone, jt: 'clone_flags', jf: 'allow' },
  ];
}

function program(): Asm[] {
  const arches = Object.keys(AUDIT_ARCH) as (keyof typeof AUDIT_ARCH)[];
  return [
    { op: 'ld', off: OFF_ARCH },
    ...arches.map((a): Asm => ({
      op: 'jmp',
      code: BPF_JEQ_K,
      k: AUDIT_ARCH[a],
      jt: `${a}_start`,
      jf: null,
    })),
    { op: 'ret', k: ALLOW }, // unknown architecture: not filtered (documented above)
    ...arches.flatMap(archSection),
    { op: 'label', name: 'clone_flags' },
    { op: 'ld', off: OFF_ARG0_LO },
    { op: 'jmp', code: BPF_JSET_K, k: CLONE_NEWUSER, jt: 'eperm', jf: 'allow' },
    { op: 'label', name: 'allow' },
    { op: 'ret', k: ALLOW },
    { op: 'label', name: 'eperm' },
    { op: 'ret', k: DENY_EPERM },
    { op: 'label', name: 'enosys' },
    { op: 'ret', k: DENY_ENOSYS },
  ];
}

function assemble(asm: Asm[]): SockFilter[] {
  const labels = new Map<string, number>();
  let pc = 0;
  for (const ins of asm) {
    if (ins.op === 'label') labels.set(ins.name, pc);
    else pc++;
  }
  const out: SockFilter[] = [];
  const rel = (target: string | null, at: number): number => {
    if (target === null) return 0; // fall through to the next instruction
    const dest = labels.get(target);
    if (dest === undefined) throw new Error(`seccomp: unknown label ${target}`);
    const off = dest - at - 1;
    if (off < 0 || off > 255) throw new Error(`seccomp: jump to ${target} out of range (${off})`);
    return off;
  };
  for (const ins of asm) {
    switch (ins.op) {
      case 'label':
        break;
      case 'ld':
        out.push({ code: BPF_LD_W_ABS, jt: 0, jf: 0, k: ins.off });
        break;
      case 'ret':
        out.push({ code: BPF_RET_K, jt: 0, jf: 0, k: ins.k });
        break;
      case 'jmp':
        out.push({
          code: ins.code,
          jt: rel(ins.jt, out.length),
          jf: rel(ins.jf, out.length),
          k: ins.k,
        });
        break;
    }
  }
  return out;
}

/** The filter as instructions (for inspection and tests). */
export function seccompInstructions(): SockFilter[] {
  return assemble(program());
}

/** Serialise instructions to the kernel's binary layout (8 bytes each, little-endian). */
export function encodeSockFilters(ins: readonly SockFilter[]): Buffer {
  const buf = Buffer.alloc(ins.length * 8);
  ins.forEach((f, i) => {
    buf.writeUInt16LE(f.code, i * 8);
    buf.writeUInt8(f.jt, i * 8 + 2);
    buf.writeUInt8(f.jf, i * 8 + 3);
    buf.writeUInt32LE(f.k >>> 0, i * 8 + 4);
  });
  return buf;
}

/** The binary program for `bwrap --seccomp FD`. */
export function namespaceSeccompFilter(): Buffer {
  return encodeSockFilters(seccompInstructions());
}
