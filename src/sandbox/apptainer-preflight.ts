/**
 * What must hold before and at the start of an apptainer agent, in two halves:
 *
 * 1. Inside the container: the D5 preflight, ONE shell constant (so its sha256 can be attested
 *    and pinned by a test) that refuses to start Claude Code as root or with a foreign `$HOME`,
 *    then `exec`s the real command. `preflightArgv()` is the only way to wrap a command with it.
 * 2. On the host: `apptainerPreflightHost()`, a pure rule set over facts the caller measured
 *    (binary and version, image, overlay, free space), returned as `check` findings with fixes.
 *
 * It also owns `rawArgFlags()`: both halves (and the planner) need to know which apptainer
 * options the operator already wrote in `apptainer.raw_args`.
 * @module
 */
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import type { Finding } from '../check/findings.ts';
import type { PathFact } from '../check/host-probe.ts';
import type { ApptainerSettings } from './apptainer-plan.ts';
import { SANDBOX_PATHS } from './sandbox-files.ts';

// ---------------------------------------------------------------------------------------------
// the in-container preflight (D5)
// ---------------------------------------------------------------------------------------------

/** Exit codes of the preflight, kept from the original so its operators' runbooks still apply. */
export const PREFLIGHT_EXIT = { root: 11, home: 12 } as const;

/** `$0` of the preflight shell: what `ps` shows while it runs, and the tag of its messages. */
export const PREFLIGHT_NAME = 'sac-preflight';

/**
 * The D5 preflight. Plain POSIX sh, run as `/bin/sh -c <this> sac-preflight <mode> <command...>`:
 * - `$1` is `fakeroot` when the agent was started with `--fakeroot`, else `strict`.
 * - uid 0 (real or effective) is refused with exit 11, unless the mode is `fakeroot` AND
 *   `/proc/self/uid_map` maps uid 0 to a non-zero host uid with a count of 1: that is apptainer's
 *   fakeroot user namespace, where "root" is the operator's own unprivileged uid.
 * - `$HOME` must be `/home/agent` (exit 12): anything else means the home binding went wrong and
 *   Claude Code would read or write someone else's settings.
 * - then `exec "$@"`: the command arrives as separate arguments, so nothing is ever shell-quoted
 *   and this whole script is constant (unlike the original, which spliced a quoted command into it).
 *
 * The uid comes from /proc/self/status, read by the shell itself, not from `id`: an image without
 * `id` would otherwise yield an empty uid that compares unequal to 0 and lets root through.
 * Every variable is `sac_`-prefixed and unset before the `exec`, so the agent inherits nothing.
 */
export const APPTAINER_PREFLIGHT = `set -eu
sac_mode=\${1-strict}
shift
sac_uid=
sac_euid=
while read -r sac_k sac_r sac_e sac_rest; do
  if [ "$sac_k" = Uid: ]; then sac_uid=$sac_r; sac_euid=$sac_e; fi
done < /proc/self/status
if [ -z "$sac_uid" ] || [ "$sac_uid" = 0 ] || [ "$sac_euid" = 0 ]; then
  sac_ok=no
  if [ "$sac_mode" = fakeroot ] && [ -n "$sac_uid" ] && [ -r /proc/self/uid_map ]; then
    while read -r sac_in sac_out sac_n; do
      if [ "$sac_in" = 0 ] && [ "$sac_out" != 0 ] && [ "$sac_n" = 1 ]; then sac_ok=yes; fi
    done < /proc/self/uid_map
  fi
  if [ "$sac_ok" != yes ]; then
    echo "ERROR[${PREFLIGHT_NAME}]: running as root (uid \${sac_uid:-unknown}) in the container, and not as --fakeroot mapped to an unprivileged host uid; refusing to start" >&2
    exit ${PREFLIGHT_EXIT.root}
  fi
fi
if [ "\${HOME-}" != ${SANDBOX_PATHS.home} ]; then
  echo "ERROR[${PREFLIGHT_NAME}]: HOME is '\${HOME-}', not ${SANDBOX_PATHS.home} (the agent's own home); refusing to start" >&2
  exit ${PREFLIGHT_EXIT.home}
fi
unset sac_mode sac_uid sac_euid sac_k sac_r sac_e sac_rest sac_ok sac_in sac_out sac_n
exec "$@"
`;

/** sha256 (hex) of {@link APPTAINER_PREFLIGHT}: what an attestation or the agent card can quote. */
export const APPTAINER_PREFLIGHT_SHA256 = createHash('sha256')
  .update(APPTAINER_PREFLIGHT)
  .digest('hex');

/** The interpreter of the preflight: POSIX sh exists in every image; bash does not (alpine). */
export const PREFLIGHT_SHELL = '/bin/sh';

/** `command` wrapped by the preflight: the argv to put after the image on `apptainer exec`. */
export function preflightArgv(command: readonly string[], fakeroot: boolean): string[] {
  return [
    PREFLIGHT_SHELL,
    '-c',
    APPTAINER_PREFLIGHT,
    PREFLIGHT_NAME,
    fakeroot ? 'fakeroot' : 'strict',
    ...command,
  ];
}

// ---------------------------------------------------------------------------------------------
// reading apptainer.raw_args
// ---------------------------------------------------------------------------------------------

/** apptainer's one-letter options we need to recognise, by long name (cmd/internal/cli/action_flags.go). */
const SHORTHANDS: Readonly<Record<string, string>> = {
  C: 'containall',
  c: 'contain',
  e: 'cleanenv',
  f: 'fakeroot',
  w: 'writable',
  H: 'home',
  W: 'workdir',
  B: 'bind',
  o: 'overlay',
  S: 'scratch',
  s: 'shell',
};
/** Shorthands that take a value, which may be glued on (`-W/tmp`): stop reading letters there. */
const SHORTHANDS_WITH_VALUE = new Set(['H', 'W', 'B', 'o', 'S', 's']);

/**
 * The long names of the options present in `raw` (`--home=/x` → `home`, `-Ce` → `containall`,
 * `cleanenv`). Values are not interpreted. Used to skip a hardening flag the operator already
 * wrote and to refuse options that would defeat sac's own (see {@link RAW_ARGS_REFUSED}).
 */
export function rawArgFlags(raw: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const arg of raw) {
    if (arg.startsWith('--')) {
      const name = arg.slice(2).split('=', 1)[0] ?? '';
      if (name) out.add(name);
    } else if (/^-[A-Za-z]/.test(arg)) {
      for (const letter of arg.slice(1)) {
        const long = SHORTHANDS[letter];
        if (long) out.add(long);
        if (SHORTHANDS_WITH_VALUE.has(letter) || !/[A-Za-z]/.test(letter)) break;
      }
    }
  }
  return out;
}

/**
 * raw_args options sac refuses, with why: each would carry or rewrite the agent's environment
 * outside spec.env (`--env K=V` also puts the value in every process listing).
 */
export const RAW_ARGS_REFUSED: Readonly<Record<string, string>> = {
  env: '--env puts values on the command line (world-readable in /proc/*/cmdline); put the variable in spec.env',
  'env-file':
    '--env-file is shell-evaluated by apptainer and bypasses spec.env; put the variables in spec.env',
};

// ---------------------------------------------------------------------------------------------
// sizes and versions
// ---------------------------------------------------------------------------------------------

const MIB = 1024 * 1024;

/**
 * An apptainer size (`512M`, `2G`, `1.5GB`; case-insensitive as the schema is) in MiB, rounded
 * up; undefined for anything else. M and MB both mean MiB, G and GB GiB, because
 * `apptainer overlay create --size` counts MiB. K, T and bare numbers are refused, as the original did.
 */
export function sizeMiB(size: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(M|MB|G|GB)$/i.exec(size.trim());
  if (!m) return undefined;
  const n = Number(m[1]) * (m[2]?.toUpperCase().startsWith('G') ? 1024 : 1);
  return n > 0 ? Math.ceil(n) : undefined;
}

export type ApptainerFamily = 'apptainer' | 'singularity-ce' | 'singularity';

export interface ApptainerVersion {
  family: ApptainerFamily;
  major: number;
  minor: number;
  patch: number;
}

/**
 * The oldest release of each family with `--no-eval`, which sac needs: without it apptainer
 * shell-evaluates forwarded variables (a `$` in a value is expanded, a `$(...)` executed).
 * Legacy `singularity` (hpcng ≤ 3.8, Sylabs ≤ 3.7) never had it.
 */
export const MIN_VERSION: Readonly<Record<ApptainerFamily, [number, number] | undefined>> = {
  apptainer: [1, 1],
  'singularity-ce': [3, 10],
  singularity: undefined,
};

/** Parse `apptainer --version` output (`apptainer version 1.3.4-1.el9`, `singularity-ce version 3.11.4`). */
export function parseApptainerVersion(text: string): ApptainerVersion | undefined {
  const m = /\b(apptainer|singularity-ce|singularity)\s+version\s+v?(\d+)\.(\d+)(?:\.(\d+))?/i.exec(
    text,
  );
  if (!m) return undefined;
  return {
    family: (m[1] ?? '').toLowerCase() as ApptainerFamily,
    major: Number(m[2]),
    minor: Number(m[3]),
    patch: Number(m[4] ?? 0),
  };
}

function versionSupported(v: ApptainerVersion): boolean {
  const min = MIN_VERSION[v.family];
  if (!min) return false;
  return v.major > min[0] || (v.major === min[0] && v.minor >= min[1]);
}

// ---------------------------------------------------------------------------------------------
// the host preflight
// ---------------------------------------------------------------------------------------------

/** Remote images apptainer pulls and converts itself. Anything else must be an absolute path. */
export const REMOTE_IMAGE_RE = /^(docker|oras):\/\/\S+$/;

const INSTALL_FIX = 'install apptainer, or set runtime: bwrap';

/** Facts about the host, measured by the caller (the only I/O is theirs, so every rule is testable). */
export interface ApptainerHostProbe {
  /** The spec's apptainer block (its binds and env are checked elsewhere, with the other mounts). */
  apptainer: ApptainerSettings;
  /** The image as the planner will use it: an absolute path, or a docker:// / oras:// URI. */
  image: string;
  /** apptainer (or singularity) found on PATH, with its `--version` output when that ran. */
  binary: { path: string; versionText?: string } | undefined;
  /** The operator's uid: apptainer runs the agent as this uid (0 = root inside the container). */
  uid: number;
  /** stat() of a host path, as `HostProbe.path`. */
  path: (p: string) => PathFact;
  /** The overlay, resolved to an absolute host path (relative ones against the workdir). */
  overlayPath?: string;
  /** Where `--workdir` (tmpfs_size) points, and the free bytes of its file system (statfs). */
  scratch?: { dir: string; freeBytes?: number };
}

function binaryFindings(p: ApptainerHostProbe): Finding[] {
  if (!p.binary) {
    return [
      {
        severity: 'blocker',
        code: 'runtime_missing',
        message:
          'neither apptainer nor singularity is on PATH; sac never runs an apptainer spec in another runtime',
        fix: INSTALL_FIX,
      },
    ];
  }
  const v = p.binary.versionText ? parseApptainerVersion(p.binary.versionText) : undefined;
  if (!v) {
    return [
      {
        severity: 'advice',
        code: 'apptainer_version_unknown',
        message: `could not read the version of ${p.binary.path}; sac needs apptainer >= 1.1 or singularity-ce >= 3.10 (--no-eval)`,
        fix: `check \`${p.binary.path} --version\``,
      },
    ];
  }
  const shown = `${v.family} ${v.major}.${v.minor}.${v.patch}`;
  if (!versionSupported(v)) {
    return [
      {
        severity: 'blocker',
        code: 'apptainer_version_unsupported',
        message: `${shown} (${p.binary.path}) lacks --no-eval, without which values of the agent's environment would be shell-evaluated`,
        fix: `${INSTALL_FIX} (apptainer >= 1.1 or singularity-ce >= 3.10)`,
      },
    ];
  }
  // The original's leak path 10: behaviour differs between releases, so record which one ran.
  return [{ severity: 'info', code: 'apptainer_version', message: `${shown} at ${p.binary.path}` }];
}

function imageFindings(p: ApptainerHostProbe): Finding[] {
  const image = p.image;
  if (REMOTE_IMAGE_RE.test(image)) {
    return [
      {
        severity: 'info',
        code: 'image_remote',
        message: `image ${image} is pulled and converted by apptainer at start (the registry must be reachable; the cache is the operator's)`,
      },
    ];
  }
  if (!posix.isAbsolute(image)) {
    return [
      {
        severity: 'blocker',
        code: 'image_invalid',
        message: `apptainer image ${JSON.stringify(image)} is neither an absolute path nor a docker:// or oras:// URI`,
        fix: 'set spec.apptainer.image to a .sif file, a sandbox directory, or a docker:// / oras:// URI',
      },
    ];
  }
  const fact = p.path(image);
  if (!fact.exists) {
    return [
      {
        severity: 'blocker',
        code: 'image_missing',
        message: `apptainer image ${image} does not exist`,
        fix: 'build it (sac image build base) or point spec.apptainer.image at an existing .sif',
      },
    ];
  }
  if (fact.isDir && !p.path(posix.join(image, '.singularity.d')).isDir) {
    return [
      {
        severity: 'blocker',
        code: 'image_invalid',
        message: `${image} is a directory without .singularity.d/, so it is not an apptainer sandbox image`,
        fix: 'point spec.apptainer.image at a .sif file or at a directory made by `apptainer build --sandbox`',
      },
    ];
  }
  return [];
}

function overlayFindings(p: ApptainerHostProbe): Finding[] {
  const a = p.apptainer;
  if (!a.overlay) return [];
  const path = p.overlayPath ?? a.overlay;
  const size = a.overlay_size;
  const mib = size ? sizeMiB(size) : undefined;
  const out: Finding[] = [];
  if (size && mib === undefined) {
    out.push({
      severity: 'blocker',
      code: 'overlay_size_invalid',
      message: `apptainer.overlay_size ${JSON.stringify(size)} is not a size in M, MB, G or GB`,
      fix: 'write it like 512M or 2G',
    });
  }
  const fact = p.path(path);
  if (fact.exists) {
    if (fact.isDir && size) {
      out.push({
        severity: 'advice',
        code: 'overlay_size_ignored',
        message: `overlay ${path} is a directory; apptainer.overlay_size applies only to overlay images`,
        fix: 'remove apptainer.overlay_size',
      });
    }
    return out;
  }
  if (!size) {
    out.push({
      severity: 'blocker',
      code: 'overlay_missing',
      message: `overlay ${path} does not exist and apptainer.overlay_size is not set, so sac cannot create it`,
      fix: `create it (mkdir -p ${path} for a directory overlay), or set apptainer.overlay_size to create an overlay image`,
    });
  } else if (!a.overlay_create_if_missing) {
    out.push({
      severity: 'blocker',
      code: 'overlay_missing',
      message: `overlay ${path} does not exist and apptainer.overlay_create_if_missing is false`,
      fix: `create it: apptainer overlay create --size ${mib ?? '<MiB>'} ${path}`,
    });
  } else if (mib !== undefined) {
    out.push({
      severity: 'info',
      code: 'overlay_create',
      message: `overlay image ${path} is created at start: apptainer overlay create --size ${mib} ${path}`,
    });
  }
  return out;
}

function tmpfsFindings(p: ApptainerHostProbe, raw: Set<string>): Finding[] {
  const a = p.apptainer;
  if (!a.tmpfs_size) return [];
  if (raw.has('workdir')) {
    return [
      {
        severity: 'info',
        code: 'tmpfs_raw_workdir',
        message:
          'apptainer.raw_args sets --workdir, so sac adds none and does not check free space for apptainer.tmpfs_size',
      },
    ];
  }
  const out: Finding[] = [];
  if (a.relaxed) {
    out.push({
      severity: 'advice',
      code: 'tmpfs_relaxed',
      message:
        "apptainer.relaxed drops --containall, and apptainer applies --workdir only to contained runs: /tmp is the host's",
      fix: 'turn relaxed off, or accept a shared /tmp',
    });
  }
  const mib = sizeMiB(a.tmpfs_size);
  if (mib === undefined) {
    out.push({
      severity: 'blocker',
      code: 'tmpfs_size_invalid',
      message: `apptainer.tmpfs_size ${JSON.stringify(a.tmpfs_size)} is not a size in M, MB, G or GB`,
      fix: "write it like 2G, or '' to keep /tmp in memory",
    });
    return out;
  }
  const dir = p.scratch?.dir ?? '(the scratch directory)';
  const free = p.scratch?.freeBytes;
  if (free === undefined) {
    out.push({
      severity: 'advice',
      code: 'tmpfs_space_unknown',
      message: `could not measure the free space for /tmp at ${dir} (apptainer.tmpfs_size: ${a.tmpfs_size})`,
    });
  } else if (free < mib * MIB) {
    out.push({
      severity: 'blocker',
      code: 'tmpfs_space',
      message: `${dir} has ${Math.floor(free / MIB)} MiB free, less than apptainer.tmpfs_size ${a.tmpfs_size} (${mib} MiB) for the agent's /tmp`,
      fix: "free space there, lower apptainer.tmpfs_size, or set it to '' to keep /tmp in memory",
    });
  }
  return out;
}

function isolationFindings(p: ApptainerHostProbe, raw: Set<string>): Finding[] {
  const a = p.apptainer;
  const out: Finding[] = [];
  for (const [flag, why] of Object.entries(RAW_ARGS_REFUSED)) {
    if (raw.has(flag)) {
      out.push({
        severity: 'blocker',
        code: 'raw_args_refused',
        message: `apptainer.raw_args contains --${flag}: ${why}`,
        fix: `remove --${flag} from apptainer.raw_args`,
      });
    }
  }
  if (a.relaxed) {
    out.push({
      severity: 'advice',
      code: 'apptainer_relaxed',
      message:
        "apptainer.relaxed: no --containall/--cleanenv/--writable-tmpfs/--home and no in-container preflight; the operator's home, /tmp and environment reach the agent",
      fix: 'turn apptainer.relaxed off outside debugging',
    });
  }
  if (p.uid === 0) {
    // apptainer runs the agent as the invoking uid; the preflight refuses root (and a fakeroot
    // namespace of root maps 0 to 0), so a root operator can never start a hardened agent.
    out.push(
      a.relaxed
        ? {
            severity: 'advice',
            code: 'apptainer_as_root',
            message:
              'sac runs as root, so the agent runs as real root in the container (relaxed: no preflight stops it)',
            fix: 'run sac as an unprivileged user for apptainer agents, or use runtime: bwrap',
          }
        : {
            severity: 'blocker',
            code: 'apptainer_as_root',
            message: `sac runs as root, so the agent would be uid 0 in the container; the preflight refuses that (exit ${PREFLIGHT_EXIT.root})`,
            fix: 'run sac as an unprivileged user for apptainer agents, or use runtime: bwrap (it drops to a per-agent uid)',
          },
    );
  }
  if (a.nv && a.rocm) {
    out.push({
      severity: 'advice',
      code: 'gpu_both',
      message:
        'apptainer.nv and apptainer.rocm are both on (apptainer < 1.2 rejects the pair; few hosts have both GPU stacks)',
      fix: 'keep the one matching the GPUs of this host',
    });
  }
  return out;
}

/** Every host-side finding for starting this apptainer agent, blockers first. */
export function apptainerPreflightHost(probe: ApptainerHostProbe): Finding[] {
  const raw = rawArgFlags(probe.apptainer.raw_args);
  const all = [
    ...binaryFindings(probe),
    ...imageFindings(probe),
    ...overlayFindings(probe),
    ...tmpfsFindings(probe, raw),
    ...isolationFindings(probe, raw),
  ];
  const rank = { blocker: 0, advice: 1, info: 2 } as const;
  return all.sort((a, b) => rank[a.severity] - rank[b.severity]);
}
