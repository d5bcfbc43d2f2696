/**
 * Pure planner for `runtime: apptainer`: an `ApptainerInput` in, the exact `apptainer exec` argv,
 * the complete environment to spawn it with, and the host directories to create first, out.
 * Nothing here touches the file system or `process.env`, so unit tests pin the result as golden
 * files and only hosts with apptainer run it (test/sandbox/apptainer-run.test.ts).
 *
 * The argv keeps the original's order (inventory §2.5) and its D1 hardening, minus what sac does
 * not have (the /state bind, --env lists, the listen bearer):
 *
 *   exec [--containall] [--cleanenv] [--writable-tmpfs] [--home H:/home/agent] [--fakeroot]
 *        [--no-eval] [--net --network none]
 *        [--bind H:/home/agent] --bind W:<container_workdir> --bind R:/run/sac:ro
 *        --bind C:/opt/sac/claude:ro [--bind E:/opt/sac/entry.sh:ro]
 *        --pwd <container_workdir> [--bind <mount>]... [--nv] [--rocm] [--overlay O]
 *        [--workdir S] <raw_args...> <image> [/bin/sh -c <PREFLIGHT> sac-preflight <mode>] <command...>
 *
 * Secrets never reach the command line: the sandbox environment travels as `APPTAINERENV_<NAME>`
 * variables of the apptainer process (see `buildEnv`), and `--env` in raw_args is refused.
 * @module
 */
import { posix } from 'node:path';
import { AppError } from '../errors.ts';
import type { AgentSpec } from '../spec/schema.ts';
import { ENV_NAME_RE } from '../spec/schema.ts';
import {
  RAW_ARGS_REFUSED,
  REMOTE_IMAGE_RE,
  preflightArgv,
  rawArgFlags,
} from './apptainer-preflight.ts';
import type { NetworkMode, SandboxMount } from './bwrap-plan.ts';
import { SANDBOX_PATHS } from './sandbox-files.ts';

/** The fields of `spec.apptainer` the planner reads; pass the whole block. `binds`/`env` are not read: pass the merged ones. */
export type ApptainerSettings = Pick<
  AgentSpec['spec']['apptainer'],
  | 'raw_args'
  | 'container_workdir'
  | 'nv'
  | 'rocm'
  | 'overlay'
  | 'overlay_size'
  | 'overlay_create_if_missing'
  | 'tmpfs_size'
  | 'relaxed'
  | 'fakeroot'
>;

/** Which CLI runs the container. It decides the variable prefix it forwards (see {@link ENV_PREFIX}). */
export type ApptainerFlavour = 'apptainer' | 'singularity-ce';

/** SingularityCE reads only its own prefix; apptainer reads both but prefers APPTAINERENV_. */
export const ENV_PREFIX: Readonly<Record<ApptainerFlavour, string>> = {
  apptainer: 'APPTAINERENV_',
  'singularity-ce': 'SINGULARITYENV_',
};

/**
 * Host variables the apptainer PROCESS may get (for itself, not for the agent). A closed list:
 * apptainer reads every option from `APPTAINER_<OPTION>` (`APPTAINER_BIND`, `APPTAINER_HOME`,
 * `APPTAINER_NO_EVAL`...) and forwards TERM and the proxy variables even through --cleanenv, so
 * spawning it with the operator's environment would let that environment rewrite the sandbox.
 */
export const LAUNCHER_ENV_KEYS = [
  'PATH',
  /** apptainer >= 1.1 finds its config and image cache under $HOME (else via the passwd file). */
  'HOME',
  'LANG',
  'APPTAINER_CACHEDIR',
  'APPTAINER_TMPDIR',
  'SINGULARITY_CACHEDIR',
  'SINGULARITY_TMPDIR',
] as const;
export type LauncherEnv = Partial<Record<(typeof LAUNCHER_ENV_KEYS)[number], string>>;

/** PATH of the apptainer process when the caller gives none (it finds squashfuse, fuse-overlayfs... there). */
export const DEFAULT_LAUNCHER_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface ApptainerInput {
  apptainer: ApptainerSettings;
  /** Resolved by the caller: an absolute path (.sif or sandbox dir) or a docker:// / oras:// URI. */
  image: string;
  /** Default `apptainer`. Use `parseApptainerVersion()` on `--version` to tell them apart. */
  flavour?: ApptainerFlavour;
  /** Host dir bound read-write at /home/agent (runtime/<name>/home). */
  homeDir: string;
  /** Host dir bound read-write at `apptainer.container_workdir`. */
  workDir: string;
  /** spec.mounts ∪ spec.apptainer.binds, host paths resolved (`mergedMounts()` + resolution). */
  mounts?: readonly SandboxMount[];
  /** Host dir bound read-only at /run/sac (the relay's sockets). */
  runDir: string;
  /** Host path of the Claude Code binary, bound read-only at /opt/sac/claude. */
  claudeBinary: string;
  /** Host file holding ENTRY_SH, bound read-only at /opt/sac/entry.sh, when `command` runs it. */
  entryScript?: string;
  network: NetworkMode;
  /** What `apptainer.overlay` is on the host (required when it is set; the host preflight knows). */
  overlayKind?: 'dir' | 'image';
  /** Host dir for --workdir (runtime/<name>/tmp-scratch): required when tmpfs_size is set. */
  scratchDir?: string;
  /** The sandbox environment, name → value (`buildSandboxEnv()`). Values never enter argv. */
  env: Readonly<Record<string, string>>;
  /** Variables for the apptainer process itself; only {@link LAUNCHER_ENV_KEYS}. */
  launcherEnv?: LauncherEnv;
  /** What runs inside, e.g. `['/bin/bash', '/opt/sac/entry.sh', '/opt/sac/claude', ...]`. Opaque. */
  command: readonly string[];
}

export interface ApptainerInvocation {
  /** Arguments for the apptainer executable (without argv[0]), starting with `exec`. */
  argv: string[];
  /**
   * The COMPLETE environment to spawn apptainer with: launcher variables plus the sandbox
   * environment as `APPTAINERENV_*`. Never merge it with process.env (see LAUNCHER_ENV_KEYS).
   *
   * Why variables and not `--env-file` (this function never returns an env file): forwarded
   * variables need no file holding secrets on disk (no 0600 dance, no cleanup, no leftovers after
   * a crash), and with `--no-eval` apptainer single-quotes their values, so every byte arrives
   * literally. An env file is parsed by apptainer's embedded shell even with --no-eval: `(`, `$`
   * and quotes in values need shell escaping, and some values cannot be passed at all
   * (apptainer/apptainer#2475). raw_args may not add `--env` or `--env-file` either.
   */
  env: Record<string, string>;
  /**
   * Host directories to create (mkdir -p) before spawning, in order: a container_workdir below
   * /home/agent and the parents of declared mount points below it (the home is a host directory,
   * so mount points inside it must exist there; the original pre-created the parents too),
   * `upper/` and `work/` of a directory overlay, and the scratch dir (apptainer creates
   * only `tmp/` and `var_tmp/` inside it).
   */
  prepareDirs: string[];
}

/** Container paths a declared mount may not cover: apptainer's own and the sandbox's skeleton. */
const RESERVED = ['/proc', '/sys', '/dev', '/.singularity.d', '/opt/sac', '/run/sac'];

/**
 * Variables the sandbox environment may not carry, with why: apptainer drops or reinterprets
 * them (internal/pkg/util/env/clean.go, process_linux.go), so they would not arrive as written.
 */
const ENV_REFUSED: Readonly<Record<string, string>> = {
  UID: 'apptainer never forwards UID (read-only in bash)',
  GID: 'apptainer never forwards GID (read-only in bash)',
  PREPEND_PATH: 'APPTAINERENV_PREPEND_PATH means "prepend to PATH" to apptainer',
  APPEND_PATH: 'APPTAINERENV_APPEND_PATH means "append to PATH" to apptainer',
};

/** Build the apptainer command line for `input`. Throws AppError SPEC_INVALID for what a spec got wrong, INTERNAL for caller bugs. */
export function buildApptainerInvocation(input: ApptainerInput): ApptainerInvocation {
  const a = input.apptainer;
  const home = SANDBOX_PATHS.home;
  const work = a.container_workdir;
  const raw = rawArgFlags(a.raw_args);
  checkInput(input, raw);
  const mounts = checkMounts(input.mounts ?? [], work);

  const argv: string[] = ['exec'];
  // D1 hardening. Each flag is skipped when relaxed or when raw_args already has it.
  const hardened = !a.relaxed;
  const ownHome = hardened && !raw.has('home');
  if (hardened) {
    // --contain is the filesystem half of --containall: an operator who chose it keeps it.
    if (!raw.has('containall') && !raw.has('contain')) argv.push('--containall');
    if (!raw.has('cleanenv')) argv.push('--cleanenv');
    // An overlay already makes the root writable; --writable would clash.
    const writable = ['writable-tmpfs', 'writable', 'overlay'].some((f) => raw.has(f));
    if (!a.overlay && !writable) argv.push('--writable-tmpfs');
    // src:dest binds the agent's home AND sets $HOME, in one option (no host /home/agent involved).
    if (ownHome) argv.push('--home', `${input.homeDir}:${home}`);
  }
  // --fakeroot is what the spec asked for, not hardening: relaxed keeps it (schema: "Pass --fakeroot").
  if (a.fakeroot && !raw.has('fakeroot')) argv.push('--fakeroot');
  // Always literal variable values, relaxed or not (see ApptainerInvocation.env).
  if (!raw.has('no-eval')) argv.push('--no-eval');
  if (input.network === 'none') argv.push('--net', '--network', 'none');

  if (!ownHome) argv.push('--bind', bind(input.homeDir, home, 'rw'));
  argv.push('--bind', bind(input.workDir, work, 'rw'));
  argv.push('--bind', bind(input.runDir, SANDBOX_PATHS.run, 'ro'));
  argv.push('--bind', bind(input.claudeBinary, SANDBOX_PATHS.claude, 'ro'));
  if (input.entryScript) argv.push('--bind', bind(input.entryScript, SANDBOX_PATHS.entry, 'ro'));
  argv.push('--pwd', work);
  for (const m of mounts) argv.push('--bind', bind(m.host, m.container, m.mode));

  if (a.nv) argv.push('--nv');
  if (a.rocm) argv.push('--rocm');
  const overlay = a.overlay ? posix.resolve(input.workDir, a.overlay) : undefined;
  if (overlay) argv.push('--overlay', overlay);
  const scratch = a.tmpfs_size && !raw.has('workdir') ? input.scratchDir : undefined;
  if (scratch) argv.push('--workdir', scratch);
  argv.push(...a.raw_args, input.image);
  argv.push(
    ...(hardened ? preflightArgv(input.command, a.fakeroot || raw.has('fakeroot')) : input.command),
  );

  const prepareDirs = new Set<string>();
  const inHome = (p: string): string => posix.join(input.homeDir, posix.relative(home, p));
  // The workdir is a directory, so its own mount point can be made; a declared mount may bind a
  // file, so only its parent is (the original's rule).
  if (work.startsWith(home + '/')) prepareDirs.add(inHome(work));
  for (const m of mounts) {
    const parent = posix.dirname(m.container);
    if (parent.startsWith(home + '/')) prepareDirs.add(inHome(parent));
  }
  if (overlay && input.overlayKind === 'dir') {
    prepareDirs.add(posix.join(overlay, 'upper'));
    prepareDirs.add(posix.join(overlay, 'work'));
  }
  if (scratch) prepareDirs.add(scratch);

  return { argv, env: buildEnv(input), prepareDirs: [...prepareDirs] };
}

/**
 * The apptainer process's environment. The sandbox variables go as `<PREFIX><NAME>`; apptainer
 * forwards those even through --cleanenv and, with --no-eval, exports them single-quoted (no
 * expansion). Special names, per apptainer's source:
 * - HOME is never forwarded (apptainer refuses APPTAINERENV_HOME); `--home` sets it, so the
 *   sandbox value must be /home/agent and is dropped here.
 * - PATH works: APPTAINERENV_PATH replaces the image's PATH after the image's own env scripts.
 * - LD_LIBRARY_PATH arrives with `:/.singularity.d/libs` appended (for --nv/--rocm libraries).
 * - LANG: --cleanenv sets LANG=C unless the sandbox sets LANG.
 * - UID, GID, PREPEND_PATH, APPEND_PATH and apptainer's own namespaces are refused (ENV_REFUSED).
 * - Newlines survive (apptainer escapes them as the text `\u000A` internally); a value that
 *   CONTAINS that 6-character text would come back as a newline, so it is refused.
 */
function buildEnv(input: ApptainerInput): Record<string, string> {
  const prefix = ENV_PREFIX[input.flavour ?? 'apptainer'];
  const out: Record<string, string> = { PATH: DEFAULT_LAUNCHER_PATH };
  const allowed: readonly string[] = LAUNCHER_ENV_KEYS;
  for (const [k, v] of Object.entries(input.launcherEnv ?? {})) {
    if (!allowed.includes(k))
      throw new AppError('INTERNAL', `launcher variable ${k} is not allowed for apptainer`, {
        details: { allowed: LAUNCHER_ENV_KEYS },
      });
    if (v !== undefined) out[k] = v;
  }
  for (const [name, value] of Object.entries(input.env)) {
    const why = envProblem(name, value);
    if (why === 'drop') continue;
    if (why) {
      throw new AppError('SPEC_INVALID', `cannot pass ${name} into an apptainer sandbox: ${why}`, {
        hint: 'rename or remove the variable in spec.env / spec.apptainer.env',
        details: { name },
      });
    }
    out[prefix + name] = value;
  }
  return out;
}

/** Why `name=value` cannot be forwarded, `'drop'` when it is set another way, or undefined. */
function envProblem(name: string, value: string): string | undefined {
  if (!ENV_NAME_RE.test(name)) return 'it is not a portable variable name';
  if (name === 'HOME') {
    if (value === SANDBOX_PATHS.home) return 'drop';
    return `HOME is always ${SANDBOX_PATHS.home} in the sandbox`;
  }
  const refused = ENV_REFUSED[name];
  if (refused) return refused;
  if (/^(APPTAINER|SINGULARITY)(ENV)?_/.test(name))
    return "names starting with APPTAINER_ or SINGULARITY_ are apptainer's own settings";
  if (value.includes('\\u000A'))
    return 'the value contains the text \\u000A, which apptainer turns into a newline';
  return undefined;
}

/** `src:dest:mode` for --bind; ':' and ',' would split the spec, so callers never get here with them. */
function bind(host: string, container: string, mode: 'ro' | 'rw'): string {
  return `${host}:${container}:${mode}`;
}

/** Characters that end a field of an apptainer bind/home/overlay spec. */
const SPEC_SEPARATORS = /[:,]/;

function checkInput(input: ApptainerInput, raw: Set<string>): void {
  const a = input.apptainer;
  if (input.command.length === 0) throw internal('the command to run inside is empty');
  // Host paths are the caller's (resolved from the runtime dir); a relative one is a bug there.
  const hostPaths: [string, string | undefined][] = [
    ['homeDir', input.homeDir],
    ['workDir', input.workDir],
    ['runDir', input.runDir],
    ['claudeBinary', input.claudeBinary],
    ['entryScript', input.entryScript],
    ['scratchDir', input.scratchDir],
  ];
  for (const [what, p] of hostPaths) {
    if (p === undefined) continue;
    if (!posix.isAbsolute(p)) throw internal(`${what} ${JSON.stringify(p)} is not absolute`);
    if (SPEC_SEPARATORS.test(p))
      throw specInvalid(p, `${what} contains ':' or ',', which apptainer reads as separators`);
  }
  if (!posix.isAbsolute(input.image) && !REMOTE_IMAGE_RE.test(input.image))
    throw internal(`image ${JSON.stringify(input.image)} is not resolved (absolute path or URI)`);
  if (a.overlay) {
    if (!input.overlayKind) throw internal('apptainer.overlay is set but overlayKind is not');
    if (SPEC_SEPARATORS.test(a.overlay))
      throw specInvalid(a.overlay, "apptainer.overlay contains ':' or ','");
  }
  if (a.tmpfs_size && !raw.has('workdir') && !input.scratchDir)
    throw internal('apptainer.tmpfs_size is set but scratchDir is not');
  const workProblem = targetProblem(a.container_workdir);
  if (workProblem) throw specInvalid(a.container_workdir, `container_workdir: ${workProblem}`);
  if (a.container_workdir === SANDBOX_PATHS.home)
    throw specInvalid(a.container_workdir, 'container_workdir would replace the agent home');
  for (const [flag, why] of Object.entries(RAW_ARGS_REFUSED)) {
    if (raw.has(flag)) throw specInvalid(`--${flag}`, `apptainer.raw_args: ${why}`);
  }
  // pflag keeps the last value: a raw --network would silently override the declared none.
  if (input.network === 'none' && raw.has('network'))
    throw specInvalid(
      '--network',
      'apptainer.raw_args sets --network, but sandbox.network is none',
    );
}

/** Why `container` cannot be a bind target (or undefined when it can). */
function targetProblem(container: string): string | undefined {
  if (!posix.isAbsolute(container)) return 'it is not an absolute path';
  if (posix.normalize(container) !== container || (container.endsWith('/') && container !== '/'))
    return 'it is not a normalised path (no "..", ".", "//" or trailing "/")';
  if (container === '/') return 'it is the container root';
  if (SPEC_SEPARATORS.test(container)) return "it contains ':' or ','";
  for (const r of RESERVED) {
    if (container === r || container.startsWith(r + '/'))
      return `it overlaps ${r}, which apptainer or sac provides`;
  }
  return undefined;
}

/** Validate declared mounts; return them shallow first, so a nested bind lands on its parent. */
function checkMounts(mounts: readonly SandboxMount[], work: string): SandboxMount[] {
  const seen = new Set<string>();
  for (const m of mounts) {
    const problem =
      m.container === SANDBOX_PATHS.home || m.container === work
        ? 'it would replace the agent home or workdir'
        : seen.has(m.container)
          ? 'it is declared twice'
          : targetProblem(m.container);
    if (problem) throw specInvalid(m.container, `mount target: ${problem}`);
    if (!posix.isAbsolute(m.host)) throw internal(`mount source ${m.host} is not absolute`);
    if (SPEC_SEPARATORS.test(m.host))
      throw specInvalid(
        m.host,
        "mount source contains ':' or ',', which apptainer reads as separators",
      );
    seen.add(m.container);
  }
  const depth = (p: string): number => p.split('/').length;
  return [...mounts].sort((x, y) => depth(x.container) - depth(y.container));
}

function specInvalid(path: string, problem: string): AppError {
  return new AppError('SPEC_INVALID', `apptainer: cannot use ${JSON.stringify(path)}: ${problem}`, {
    hint: 'fix the path or option in spec.apptainer / spec.mounts; see docs/sandbox.md, "The apptainer runtime"',
    details: { path, problem },
  });
}

function internal(problem: string): AppError {
  return new AppError('INTERNAL', `apptainer planner: ${problem}`);
}
