/**
 * The agent spec (`spec.yaml`): ONE zod schema that is the single source of truth for its types,
 * defaults, field descriptions, validation and the editor JSON Schema (`schema/agent-spec.schema.json`).
 *
 * Contract (docs/spec-reference.md): every key the original `scitex-agent-container` v3 validator
 * accepted across its versions loads; keys sac does not implement carry `.meta({ sacIgnored })` and
 * the parser warns "accepted, ignored" when they are written; every other unknown key is an error.
 * Omitted fields take the documented defaults (no "every field must be written" rule).
 *
 * Cross-field checks (kind couplings, mount/env merging, the model regex that depends on the
 * provider, ...) live in `rules.ts`; relocation/removal hints for old specs live in `legacy.ts`.
 * @module
 */
import { z } from 'zod';

// ---------------------------------------------------------------------------------------------
// shared pieces
// ---------------------------------------------------------------------------------------------

export const API_VERSION = 'scitex-agent-container/v3';

/** POSIX-portable environment variable name. */
export const ENV_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * `host:container[:ro|rw]`: a non-empty host source without `:` (`~` and `$VAR` allowed, expanded
 * later), an absolute container destination, an optional mode.
 */
export const MOUNT_RE = /^([^:]+):(\/[^:]*)(?::(ro|rw))?$/;

/** The original's accepted `claude.model` shapes (aliases, full ids, `[1m]`-style suffix). */
export const CLAUDE_MODEL_RE =
  /^(?:(?:opus|sonnet|haiku|fable|inherit|default)|claude-(?:(?:opus|sonnet|haiku)-\d+-\d+|fable-\d+)(?:-[a-z0-9]+)*)(?:\[[A-Za-z0-9_]+\])?$/;

/** `M/MB/G/GB` sizes as apptainer takes them (`2G`, `512MB`); `''` means "none". */
const SIZE_RE = /^(?:\d+(?:\.\d+)?(?:M|MB|G|GB))?$/i;

/**
 * Mark a key that loads for compatibility but that sac does not act on. The reason is kept as
 * metadata (`sacIgnored`, read by {@link ignoredFieldPaths}) and appended to the description, so
 * editors show it too.
 */
function ignored<T extends z.ZodType>(schema: T, description: string, reason: string): T {
  return schema.describe(`${description} Accepted, ignored by sac: ${reason}.`).meta({
    sacIgnored: reason,
  });
}

/** YAML scalars written as env/label values (`PORT: 8080`, `DEBUG: true`) become strings. */
const scalarString = z.union([z.string(), z.number(), z.boolean()]).transform((v) => String(v));

const envMap = z.record(
  z.string().regex(ENV_NAME_RE, {
    error: (iss) =>
      `expected an environment variable name (letters, digits, _; not starting with a digit), got '${String(iss.input)}'`,
  }),
  scalarString,
);

const mountString = z.string().regex(MOUNT_RE, {
  error: (iss) =>
    `expected host:container[:ro|rw] with an absolute container path, got '${String(iss.input)}'`,
});

const stringOrList = z.union([z.string(), z.array(z.string())]);

const httpUrl = z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' });

// ---------------------------------------------------------------------------------------------
// claude.* (and the provider registry it names)
// ---------------------------------------------------------------------------------------------

/**
 * Names accepted by `spec.claude.provider: <name>`: the original's registry minus its
 * operator-specific `codex` gateway. Where each one points lives with the relay
 * (`src/plan/providers.ts`; a test keeps the two lists equal). `anthropic` means "no override".
 */
export const PROVIDER_NAMES = ['anthropic', 'deepseek', 'mimo', 'xiaomi'] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];

const ProviderSchema = z
  .union([
    z.enum(PROVIDER_NAMES, {
      error: (iss) =>
        `expected a registered provider (${PROVIDER_NAMES.join(', ')}) or {base_url, auth_token_env}, got '${String(iss.input)}'`,
    }),
    z.strictObject({
      base_url: httpUrl.describe(
        'Anthropic-API-compatible endpoint (http:// or https://) the relay forwards model traffic to. Required.',
      ),
      auth_token_env: z
        .string()
        .regex(ENV_NAME_RE, 'expected an environment variable name')
        .describe(
          'NAME of the host environment variable holding the API key (never the key itself). The supervisor reads it at start; `start` fails if it is unset. Required.',
        ),
    }),
  ])
  .nullable()
  .default(null)
  .describe(
    "Inference backend. A registered name (anthropic, deepseek, mimo, xiaomi) or {base_url, auth_token_env} for any Anthropic-API-compatible endpoint (LiteLLM, vLLM shim, in-house gateway). Claude Code in the sandbox talks only to the supervisor relay, which forwards there with the token read from the host environment. When set (other than anthropic), claude.model may be the provider's own model id. Mutually exclusive with claude.account. Default: null (Anthropic).",
  );

const SESSION_INPUTS = [
  'fresh',
  'continue',
  'resume',
  'new-session',
  'new',
  'continue-or-new',
] as const;
export type SessionMode = 'fresh' | 'continue' | 'resume';

function normaliseSession(s: (typeof SESSION_INPUTS)[number] | null): SessionMode {
  switch (s) {
    case null:
    case 'fresh':
    case 'new':
    case 'new-session':
      return 'fresh';
    case 'continue':
    case 'continue-or-new':
      return 'continue';
    case 'resume':
      return 'resume';
  }
}

const sessionInput = z.enum(SESSION_INPUTS).nullable();

const SESSION_DESCRIPTION =
  "What a new launch (start, restart) does with the conversation: fresh = a new session; continue = resume the agent's last session if there is one; resume = resume claude.resume_id. Aliases: new-session and new mean fresh, continue-or-new means continue; null means fresh (the original derived continue for coordinator roles; sac does not). Recovery after a crash always resumes, whatever this says.";

const ClaudeSchema = z
  .strictObject({
    model: z
      .string()
      .default('sonnet')
      .transform((m) => (m === '' ? 'sonnet' : m))
      .describe(
        "Model for every turn, passed on each (re)start, also when resuming. An alias (opus, sonnet, haiku, optionally with a context suffix like opus[1m]) or a full id (claude-opus-4-7, claude-haiku-4-5-20251001). With a non-Anthropic claude.provider, the provider's own model id (e.g. deepseek-chat). Default: sonnet ('' also means sonnet).",
      ),
    flags: z
      .array(z.string())
      .default([])
      .describe(
        'Claude Code command-line flags. sac maps the ones the Agent SDK has options for (--dangerously-skip-permissions → bypassPermissions mode) and passes the rest through. Default: [].',
      ),
    raw_options: z
      .record(z.string(), z.unknown())
      .default({})
      .describe(
        "Escape hatch: extra options for the Claude Agent SDK's query(), applied over sac's own (the original splatted them into ClaudeAgentOptions). Default: {}.",
      ),
    session: sessionInput
      .default('fresh')
      .transform(normaliseSession)
      .describe(`${SESSION_DESCRIPTION} Default: fresh.`),
    resume_id: z
      .string()
      .regex(
        /^$|^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$/,
        'expected a session UUID (an unknown or malformed id would silently start a fresh session)',
      )
      .default('')
      .describe("Session UUID resumed when claude.session is resume. Default: '' (none)."),
    provider: ProviderSchema,
    channels: ignored(
      z.array(z.string()).optional(),
      'Claude Code development channels (server:<name>, plugin:<id>@<v>).',
      'channel push (server:sac) belongs to the interactive driver, which sac does not have yet',
    ),
    auto_accept: ignored(
      z.boolean().optional(),
      'Auto-confirm permission modals in the interactive TUI. Original default: true.',
      'only the interactive TUI had modals; the SDK driver has none',
    ),
    account: ignored(
      z.string().optional(),
      'Pin the agent to a stored account (sac accounts). Mutually exclusive with claude.provider.',
      'multi-account rotation is not implemented yet; the relay uses the host credential',
    ),
    credentials_file: ignored(
      z.string().optional(),
      'Host path of a .credentials.json bound writable into the agent.',
      'real credentials never enter the sandbox; the supervisor relay attaches them',
    ),
    credentials_files: ignored(
      z.array(z.string()).optional(),
      'Pool of .credentials.json files; one healthy account was picked at start.',
      'real credentials never enter the sandbox; account pools come with multi-account support',
    ),
    continue_max_age_minutes: ignored(
      z.number().int().min(0).nullable().optional(),
      'Resume only when the last transcript is newer than this many minutes.',
      'not implemented yet',
    ),
  })
  .prefault({})
  .describe(
    'How Claude Code runs: model, flags, session continuity, provider. Forbidden on kind AgentProxy.',
  );

// ---------------------------------------------------------------------------------------------
// apptainer.*
// ---------------------------------------------------------------------------------------------

const legacyBind = z
  .strictObject({
    src: z.string().min(1).describe('Host source path (~ and $VAR are expanded).'),
    dst: z
      .string()
      .regex(/^\//, 'expected an absolute container path')
      .describe('Absolute container destination.'),
    mode: z.enum(['ro', 'rw', '']).default('').describe("'ro', 'rw' or '' (rw). Default: ''."),
  })
  .describe('Legacy {src, dst, mode} bind form; same meaning as "src:dst[:mode]".')
  // normalise to the string form so consumers handle one shape
  .transform((b) => (b.mode ? `${b.src}:${b.dst}:${b.mode}` : `${b.src}:${b.dst}`));

const ApptainerSchema = z
  .strictObject({
    image: z
      .string()
      .default('')
      .describe(
        "Image to run in: a .sif file, a sandbox directory, or a docker:// / oras:// URI (a bare name means docker://). Naming an image makes apptainer the default runtime. '~/.scitex/agent-container/...' follows SAC_HOME. Default: '' (none).",
      ),
    binds: z
      .array(z.union([mountString, legacyBind]))
      .default([])
      .describe(
        'Extra mounts, same syntax and meaning as spec.mounts (host:container[:ro|rw], default rw), or the legacy {src, dst, mode} form. Merged with spec.mounts; one container path declared twice with a different source or mode is an error. Default: [].',
      ),
    env: envMap
      .default({})
      .describe(
        'Environment variables for the agent, merged with spec.env; one name with two different values is an error. Values are passed through the environment, never on a command line. Default: {}.',
      ),
    raw_args: z
      .array(z.string())
      .default([])
      .describe(
        "Appended verbatim to the apptainer exec command line after sac's own flags (a hardening flag already present here is not added twice). Never put secrets here: command lines are world-readable. Default: [].",
      ),
    container_workdir: z
      .string()
      .regex(/^\//, 'expected an absolute container path')
      .default('/work')
      .describe(
        'Container path where spec.workdir is mounted and where the agent starts (--pwd). Default: /work.',
      ),
    nv: z
      .boolean()
      .default(false)
      .describe('Pass --nv (NVIDIA GPUs) to apptainer. Default: false.'),
    rocm: z
      .boolean()
      .default(false)
      .describe('Pass --rocm (AMD GPUs) to apptainer. Default: false.'),
    overlay: z
      .string()
      .default('')
      .describe(
        "Writable overlay (--overlay): an image file or a directory (upper/ and work/ are created); relative paths resolve against the workdir. Disables --writable-tmpfs. Default: '' (none).",
      ),
    overlay_size: z
      .string()
      .regex(SIZE_RE, 'expected a size in M, MB, G or GB (e.g. 512M, 2G)')
      .default('')
      .describe(
        "Size for creating a missing overlay image (apptainer overlay create). M, MB, G or GB. Default: '' (a missing overlay image is an error).",
      ),
    overlay_create_if_missing: z
      .boolean()
      .default(true)
      .describe(
        'Create the overlay image when it is missing and overlay_size is set. Default: true.',
      ),
    tmpfs_size: z
      .string()
      .regex(SIZE_RE, "expected a size in M, MB, G or GB (e.g. 2G), or ''")
      .default('2G')
      .describe(
        "Put the agent's /tmp and /var/tmp on host disk (--workdir under the runtime dir) and require this much free space there; '' keeps apptainer's in-memory tmpfs. Default: 2G.",
      ),
    relaxed: z
      .boolean()
      .default(false)
      .describe(
        'Turn off the hardening sac adds (--containall --cleanenv --writable-tmpfs --home /home/agent) and its in-container preflight. Weakens isolation; for debugging only. Default: false.',
      ),
    fakeroot: z
      .boolean()
      .default(false)
      .describe(
        'Pass --fakeroot: uid 0 inside a user namespace (still your uid on the host). Default: false.',
      ),
    post: ignored(
      z.string().optional(),
      "Shell snippet for a synthesised .def's %post (image build extension).",
      'sac does not build images from specs yet; build with `sac image build`',
    ),
    environment: ignored(
      z.record(z.string(), scalarString).optional(),
      "KEY: value pairs for a synthesised .def's %environment.",
      'sac does not build images from specs yet; use apptainer.env or spec.env for runtime variables',
    ),
    def_file: ignored(
      z.string().optional(),
      'Hand-written .def used to build the image.',
      'sac does not build images from specs yet; build with `sac image build`',
    ),
    nested_build: ignored(
      z.boolean().optional(),
      'Let the agent run apptainer build/pull inside its container (/dev/fuse, masked subuid files).',
      'not implemented yet',
    ),
    jail: ignored(
      z.boolean().optional(),
      'Refuse binds under operator-specific shared file systems and force --containall.',
      'the path list was site-specific; sac already mounts only declared paths',
    ),
  })
  .prefault({})
  .describe(
    'Apptainer settings, used when the runtime is apptainer (binds and env apply to every runtime: they merge with spec.mounts and spec.env).',
  );

// ---------------------------------------------------------------------------------------------
// the other spec.* blocks
// ---------------------------------------------------------------------------------------------

const HealthSchema = z
  .strictObject({
    enabled: z
      .boolean()
      .default(false)
      .describe(
        "Run the supervisor's liveness checks (heartbeat and Claude Code process) every interval; a failed check counts as a failure for restart.policy. restart.policy acts on Claude Code exits whether or not this is on. Default: false.",
      ),
    interval: z
      .number()
      .positive()
      .default(30)
      .describe('Seconds between liveness checks. Default: 30.'),
    timeout: z
      .number()
      .positive()
      .default(5)
      .describe('Seconds one check may take before it counts as failed. Default: 5.'),
    method: z
      .enum(['sdk-alive'])
      .default('sdk-alive')
      .describe(
        "How liveness is checked: sdk-alive (the supervisor's Claude Code session is up and its heartbeat fresh), the only method. Default: sdk-alive.",
      ),
    stall_after: z
      .number()
      .positive()
      .nullable()
      .default(null)
      .describe(
        'Seconds a running turn may go without producing any event (text, tool call, tool result) before it is reported as stalled. Default: null (stall detection off).',
      ),
    on_stall: z
      .enum(['report', 'interrupt', 'restart'])
      .default('report')
      .describe(
        'What the supervisor does with a stalled turn: report (mark it stalled in status and the transcript), interrupt (interrupt the turn, like send --key ESC), restart (restart Claude Code, resuming the session). Needs stall_after. Default: report.',
      ),
  })
  .prefault({})
  .describe('Liveness and stall checks run by the per-agent supervisor.');

const RestartSchema = z
  .strictObject({
    policy: z
      .enum(['never', 'on-failure', 'always'])
      .default('never')
      .describe(
        'When the supervisor restarts Claude Code (resuming the session): never; on-failure (non-zero exit, crash, failed health check); always (also after a clean exit). Default: never.',
      ),
    max_retries: z
      .number()
      .int()
      .min(0)
      .default(3)
      .describe(
        'Consecutive restarts before the supervisor gives up and marks the agent failed; a healthy run resets the count. Default: 3.',
      ),
    backoff: z
      .strictObject({
        initial: z
          .number()
          .positive()
          .default(30)
          .describe('Seconds before the first restart. Default: 30.'),
        max: z
          .number()
          .positive()
          .default(300)
          .describe('Upper bound in seconds for the delay between restarts. Default: 300.'),
        multiplier: z
          .number()
          .min(1)
          .default(2)
          .describe('Factor applied to the delay after each restart. Default: 2.'),
      })
      .prefault({})
      .describe('Exponential backoff between restarts: initial, then ×multiplier, at most max.'),
    prune_on_stop: z
      .boolean()
      .default(false)
      .describe(
        "With policy never, a clean `sac agents stop` deletes the agent's runtime directory (for throwaway agents). Default: false.",
      ),
  })
  .prefault({})
  .describe('Restart policy applied by the supervisor.');

const AutonomousSchema = z
  .strictObject({
    enabled: z
      .boolean()
      .default(false)
      .describe(
        'After the startup prompts, keep sending kick_text until a reply contains drive_until or max_turns is reached. Default: false.',
      ),
    drive_until: z
      .string()
      .min(1)
      .default('DONE')
      .describe('Text whose appearance in a reply ends the loop. Default: DONE.'),
    max_turns: z
      .number()
      .int()
      .positive()
      .default(50)
      .describe('Most turns the loop sends; reaching it ends the loop as a failure. Default: 50.'),
    idle_kick_after_s: z
      .number()
      .int()
      .positive()
      .default(120)
      .describe('Seconds without activity after a reply before the next kick. Default: 120.'),
    kick_text: z
      .string()
      .min(1)
      .default('Continue. Print DONE when finished.')
      .describe(
        "The turn sent to keep the agent going. Default: 'Continue. Print DONE when finished.'.",
      ),
  })
  .prefault({})
  .describe(
    'Drive-until-done loop. With residency one-shot the agent exits when the loop ends; resident agents stay up for more turns.',
  );

const A2ASchema = z
  .strictObject({
    host: z
      .string()
      .min(1)
      .default('127.0.0.1')
      .describe(
        "Address the agent's HTTP endpoint (A2A and POST /v1/turn, bearer-protected) binds to. Anything but loopback exposes it to the network. Default: 127.0.0.1.",
      ),
    port: z
      .union([z.literal('auto'), z.number().int().min(1).max(65535), z.null()])
      .default('auto')
      .describe(
        "auto: a free port from the host config's a2a.port_range; a number pins it (start fails if taken); null: no HTTP endpoint (the CLI still reaches the agent over its control socket). Default: auto.",
      ),
    handler: ignored(
      z.string().optional(),
      'Executor behind `sac a2a serve` (echo, claude_cli, claude_session, exec, openai_session).',
      "every sac agent's endpoint is served by its own supervisor",
    ),
  })
  .prefault({})
  .describe("The agent's own HTTP endpoint, served by its supervisor.");

const ProxySchema = z
  .strictObject({
    upstream: httpUrl.describe('http(s) URL of the A2A agent to forward to. Required.'),
    trust: z
      .enum(['untrusted', 'local-mesh', 'trusted'])
      .default('untrusted')
      .describe('How far the upstream is trusted (shown on the card). Default: untrusted.'),
    redact: z
      .array(z.string())
      .default([])
      .describe('Turns containing any of these substrings are refused (HTTP 400). Default: [].'),
    timeout_s: z
      .number()
      .positive()
      .default(30)
      .describe('Seconds to wait for the upstream before answering 504. Default: 30.'),
  })
  .optional()
  .describe(
    'kind AgentProxy only (required there, forbidden on Agent): forward turns to another A2A endpoint instead of running Claude Code.',
  );

const hookList = (when: string): z.ZodDefault<z.ZodArray<z.ZodString>> =>
  z
    .array(z.string())
    .default([])
    .describe(
      `Commands run on the host ${when}: shell strings (run by sh -c) or http(s) URLs (POSTed to). Each has a 60 s timeout and its output goes to the supervisor log; a failing pre_start hook fails the start, other failures are logged. Default: [].`,
    );

const HooksSchema = z
  .strictObject({
    pre_start: hookList('before the agent starts'),
    post_start: hookList('after the agent has started'),
    pre_stop: hookList('before the agent stops'),
    post_stop: hookList('after the agent has stopped'),
    on_restart: hookList('when the supervisor restarts Claude Code'),
    on_compact: ignored(
      z.array(z.string()).optional(),
      'Commands run when Claude Code compacts its context.',
      'sac does not emit compaction events yet',
    ),
    on_diff: ignored(
      z.array(z.string()).optional(),
      'Commands run when the spec changes.',
      'sac does not emit spec-diff events yet',
    ),
  })
  .prefault({})
  .describe(
    'Lifecycle hooks. They run on the HOST with your privileges, outside the sandbox: never copy hooks from a spec you do not trust.',
  );

const StartupCommandSchema = z
  .strictObject(
    {
      delay: z
        .number()
        .int()
        .min(0)
        .default(0)
        .describe('Seconds to wait before running the command. Default: 0.'),
      command: z
        .string()
        .min(1)
        .describe('Shell command (sh -c), run inside the sandbox. Required.'),
    },
    {
      error: (iss) =>
        iss.code === 'invalid_type'
          ? `expected a {delay, command} mapping (bare strings are not accepted: write '- command: "..."'), got ${typeof iss.input}`
          : undefined,
    },
  )
  .describe('One startup command.');

const McpServerSchema = z
  .looseObject({
    type: z
      .enum(['stdio', 'http', 'sse'])
      .optional()
      .describe('Transport: stdio (default when command is set), http or sse.'),
    command: z.string().min(1).optional().describe('stdio: the program to run.'),
    args: z.array(z.string()).optional().describe('stdio: its arguments.'),
    env: z.record(z.string(), z.string()).optional().describe('stdio: its environment.'),
    url: z.string().min(1).optional().describe('http/sse: the server URL.'),
    headers: z.record(z.string(), z.string()).optional().describe('http/sse: request headers.'),
  })
  .superRefine((s, ctx) => {
    const type = s.type ?? 'stdio';
    if (type === 'stdio' && s.command === undefined) {
      ctx.addIssue({
        code: 'custom',
        message:
          s.url === undefined
            ? 'an MCP server needs command (stdio) or type: http|sse with url'
            : 'a url server needs type: http or type: sse (without type, Claude Code assumes stdio)',
      });
    } else if (type !== 'stdio' && s.url === undefined) {
      ctx.addIssue({ code: 'custom', message: `a type: ${type} MCP server needs url` });
    }
  })
  .describe(
    'One MCP server in the .mcp.json shape. Keys beyond these pass through to Claude Code unchanged.',
  );

const ListenEntrySchema = z
  .strictObject({
    port: z
      .number()
      .int()
      .min(1)
      .max(65535)
      .optional()
      .describe('tcp/udp port. Required for tcp and udp.'),
    proto: z.enum(['tcp', 'udp', 'unix']).default('tcp').describe('Protocol. Default: tcp.'),
    path: z.string().min(1).optional().describe('unix socket path. Required for unix.'),
    name: z.string().optional().describe('Label.'),
    owner: z.string().optional().describe('Which tool binds it (free-form).'),
  })
  .superRefine((e, ctx) => {
    // the original silently dropped such entries; we say so instead
    if (e.proto === 'unix' && e.path === undefined) {
      ctx.addIssue({ code: 'custom', path: ['path'], message: 'a unix listen entry needs path' });
    }
    if (e.proto !== 'unix' && e.port === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['port'],
        message: `a ${e.proto} listen entry needs port`,
      });
    }
  })
  .describe('A port or socket some other tool binds on behalf of the agent.');

const HARNESS_VALUES = ['anthropic', 'openai', 'codex'] as const;
export type Harness = (typeof HARNESS_VALUES)[number];
const harnessInput = z.enum(HARNESS_VALUES).or(z.literal('')).nullable();

const RUNTIME_VALUES = ['bwrap', 'apptainer', 'host', '', 'tui', 'claude-agent-sdk'] as const;

// ---------------------------------------------------------------------------------------------
// spec
// ---------------------------------------------------------------------------------------------

const SpecObject = z.strictObject({
  runtime: z
    .enum(RUNTIME_VALUES, {
      error: (iss) => `expected bwrap, apptainer or host, got '${String(iss.input)}'`,
    })
    .optional()
    .describe(
      "Sandbox the agent's Claude Code runs in: bwrap (bubblewrap, rootless), apptainer (the original's runtime; needs an image), host (no isolation, development only). Omitted or '': apptainer when the spec names an image (apptainer.image), else bwrap. The original's tui and claude-agent-sdk (Claude Code inside apptainer) are accepted and mean apptainer, with a warning.",
    ),
  harness: harnessInput
    .optional()
    .describe(
      'Which agent program runs the loop: anthropic (Claude Code through the Claude Agent SDK). openai and codex load but cannot be started by sac. Alias: spec.provider (deprecated); both set and disagreeing is an error. Default: anthropic.',
    ),
  provider: harnessInput
    .optional()
    .describe(
      'Deprecated alias of spec.harness (not spec.claude.provider, which picks the inference backend).',
    ),
  residency: z
    .enum(['resident', 'one-shot'])
    .default('resident')
    .describe(
      'resident: the agent stays up awaiting turns after its work; one-shot: it runs its startup prompts (and autonomous loop) and exits 0. one-shot needs startup_prompts and is refused for AgentProxy. Default: resident.',
    ),
  workdir: z
    .string()
    .min(1)
    .nullable()
    .default(null)
    .describe(
      "Host directory the agent works in, mounted read-write and used as its working directory (apptainer mounts it at apptainer.container_workdir). Relative paths resolve against the spec's directory; '~/.scitex/agent-container/...' follows SAC_HOME. Default: null (a per-agent directory sac derives; `sac agents explain` shows it).",
    ),
  to_home: z
    .string()
    .min(1)
    .default('./to_home')
    .describe(
      "Directory whose contents are copied into the agent's $HOME (/home/agent) at every start: CLAUDE.md, .claude/{skills,commands,hooks,settings.json}, .mcp.json. Relative to the spec's directory; a missing directory is fine. Default: ./to_home.",
    ),
  mounts: z
    .array(mountString)
    .default([])
    .describe(
      'Host paths made visible to the agent, as host:container[:ro|rw]. The container path must be absolute; mode defaults to rw (as apptainer binds). ~ and $VAR in the host path are expanded. Merged with apptainer.binds. Nothing else of the host is visible. Default: [].',
    ),
  env: envMap
    .default({})
    .describe(
      "Environment variables for the agent's Claude Code and the tools it runs. The sandbox environment is otherwise rebuilt from an allow-list. Merged with apptainer.env. Default: {}.",
    ),
  sandbox: z
    .strictObject({
      network: z
        .enum(['host', 'none'])
        .default('host')
        .describe(
          "host: the agent shares the host's network (as the original; loopback services are reachable). none: no network at all; the model relay and sac services still reach it as unix sockets. Default: host.",
        ),
    })
    .prefault({})
    .describe('Sandbox settings common to all runtimes.'),
  user: z
    .string()
    .regex(/^(?:|host|\d+|\d+:\d+)$/, "expected '', 'host', '<uid>' or '<uid>:<gid>'")
    .default('')
    .describe(
      "Identity the agent runs as. '': your uid when you are not root; as root, a uid from the host config's sandbox.uid_range. 'host': your uid:gid. '<uid>' or '<uid>:<gid>': that identity. Never root. Default: ''.",
    ),
  claude: ClaudeSchema,
  session: sessionInput
    .optional()
    .transform((s) => (s == null ? undefined : normaliseSession(s)))
    .describe(
      `Shortcut for claude.session; when set it wins over claude.session. ${SESSION_DESCRIPTION}`,
    ),
  startup_commands: z
    .array(StartupCommandSchema)
    .default([])
    .describe(
      'Shell commands run in order inside the sandbox before Claude Code starts, each after its delay; a failing command fails the start. Default: [].',
    ),
  startup_prompts: z
    .array(z.string().min(1))
    .default([])
    .describe(
      'Turns sent to the agent right after it starts, every one in order (the original used only the first). Default: [].',
    ),
  apptainer: ApptainerSchema,
  health: HealthSchema,
  restart: RestartSchema,
  autonomous: AutonomousSchema,
  a2a: A2ASchema,
  proxy: ProxySchema,
  hooks: HooksSchema,
  mcp_servers: z
    .record(z.string().min(1), McpServerSchema)
    .default({})
    .describe(
      "MCP servers for the agent's Claude Code, by name, in the .mcp.json shape; merged with the baseline's and to_home's .mcp.json (one name defined differently in two of them is an error at start). Default: {}.",
    ),
  extensions: z
    .record(z.string(), z.unknown())
    .default({})
    .describe('Free-form data for other tools; sac keeps it and never reads it. Default: {}.'),

  // accepted for compatibility, not implemented
  engines: ignored(
    z.record(z.string(), z.record(z.string(), z.unknown())).optional(),
    'Named backends {harness, model, provider, default, reasoning_effort, max_context_tokens, env}, one folded onto spec.claude at start.',
    'engine selection is not implemented; set claude.model and claude.provider',
  ),
  access: ignored(
    z.enum(['full', 'capsule']).optional(),
    'Host-access posture: full bound your whole home read-write; capsule only the declared binds.',
    'sac mounts only what spec.mounts and apptainer.binds declare; add your home there if you really mean it',
  ),
  'python-venv': ignored(
    stringOrList.optional(),
    'Python virtualenv (or fallback list; auto probes ~/.venv-3.11, ~/.venv) activated for startup_commands and hooks.',
    'activate it inside startup_commands instead',
  ),
  'env-file': ignored(
    stringOrList.optional(),
    'dotenv file(s) sourced at start.',
    'put variables in spec.env (secrets belong in the provider token variable)',
  ),
  multiplexer: ignored(
    z.enum(['tmux', 'screen']).optional(),
    'Session host of the interactive TUI.',
    'sac drives Claude Code through the Agent SDK, without a terminal multiplexer',
  ),
  host: ignored(
    z
      .union([z.string(), z.array(z.string())])
      .nullable()
      .optional(),
    'Placement: the host (or priority list of hosts) this singleton agent runs on.',
    'cross-host dispatch comes later; the agent runs where sac is invoked',
  ),
  hosts: ignored(
    z
      .union([z.literal('all'), z.array(z.string())], {
        error: "expected 'all' or a list of host names",
      })
      .optional(),
    "Multi-instance placement: one instance per listed host, or 'all'.",
    'cross-host dispatch comes later; the agent runs where sac is invoked',
  ),
  screen: ignored(
    z.strictObject({ name: z.string().optional().describe('Session name.') }).optional(),
    'Legacy GNU screen session settings.',
    'dead since the original dropped screen',
  ),
  startup: ignored(
    z
      .strictObject({
        commands: z.array(z.unknown()).optional().describe('Commands.'),
        ready_patterns: z.array(z.string()).optional().describe('Regexes meaning "ready".'),
        ready_idle_ticks: z.number().optional().describe('Idle ticks before ready.'),
        ready_poll_interval_seconds: z.number().optional().describe('Poll interval.'),
        ready_timeout_seconds: z.number().optional().describe('Timeout.'),
        on_timeout: z
          .enum(['capture_and_proceed', 'capture_and_fail'])
          .optional()
          .describe('What to do on timeout.'),
      })
      .optional(),
    'TUI readiness gate.',
    'a dead key in the original too (no parser read it)',
  ),
  watchdog: ignored(
    z
      .strictObject({
        enabled: z.boolean().optional().describe('On/off.'),
        interval: z.number().optional().describe('Seconds between polls.'),
        responses: z
          .strictObject({
            y_n: scalarString.optional().describe('Answer to y/n prompts.'),
            y_y_n: scalarString.optional().describe('Answer to y/y/n prompts.'),
            waiting: scalarString.optional().describe('Text sent when waiting.'),
          })
          .optional()
          .describe('Canned answers.'),
      })
      .optional(),
    'Legacy screen auto-responder.',
    'the original did not interpret it either; the SDK driver has no prompts to answer',
  ),
  context_management: ignored(
    z
      .strictObject({
        trigger_at_percent: z
          .number()
          .optional()
          .describe('Context fill that triggers the strategy.'),
        strategy: z.string().optional().describe('noop, compact or restart.'),
        warn_before_n_checks: z.number().int().optional().describe('Warnings before acting.'),
        check_interval_seconds: z.number().optional().describe('Seconds between checks.'),
        state_file: z.string().optional().describe('Sensor state file.'),
      })
      .optional(),
    'Context-window sensor (compact or restart near the limit).',
    'not implemented; Claude Code compacts on its own',
  ),
  telegram: ignored(
    z
      .strictObject({
        bot_token_env: z.string().optional().describe('Env var holding the bot token.'),
        allowed_users: z.array(scalarString).optional().describe('Allowed Telegram users.'),
        auto_connect: z.boolean().optional().describe('Connect at start.'),
        greeting: z.string().optional().describe('Greeting message.'),
      })
      .optional(),
    'Telegram bridge settings for claude-code-telegrammer.',
    'handled outside sac (an MCP server in mcp_servers can provide it)',
  ),
  comms: ignored(
    z
      .strictObject({
        channels: z.array(z.string().min(1)).optional().describe('Channel names.'),
        outbound: z
          .strictObject({
            siblings: z.enum(['allow', 'deny']).optional().describe('Messages to siblings.'),
            parent: z.enum(['allow', 'deny']).optional().describe('Messages to the parent.'),
          })
          .optional()
          .describe('Outbound rules.'),
        inbound: z
          .strictObject({
            siblings: z.enum(['allow', 'deny']).optional().describe('Messages from siblings.'),
            parent: z.enum(['allow', 'deny']).optional().describe('Messages from the parent.'),
          })
          .optional()
          .describe('Inbound rules.'),
        a2a: z
          .strictObject({ listen: z.boolean().optional().describe('Serve inbound A2A.') })
          .optional()
          .describe('A2A toggle.'),
      })
      .optional(),
    'Per-agent messaging ACL (allow/deny for siblings and parent).',
    'agent-to-agent ACLs come with the control plane; identity comes from per-agent tokens',
  ),
  lineage: ignored(
    z
      .strictObject({
        group: z.enum(['', 'solitary']).optional().describe("'' or solitary."),
        may_spawn: z.boolean().optional().describe('May this agent start others.'),
      })
      .optional(),
    'Spawn family-tree settings.',
    'lineage ACLs come with the control plane',
  ),
  listen: ignored(
    z.array(ListenEntrySchema).optional(),
    'Declarations of ports/sockets other tools bind for this agent (shown, never bound). Invalid entries are errors (the original dropped them silently).',
    'declarations only; not shown anywhere yet',
  ),
  exclude_hooks: ignored(
    stringOrList.optional(),
    'Baseline hooks not to install for this agent.',
    'sac installs no baseline hooks',
  ),
  exclude_skills: ignored(
    stringOrList.optional(),
    'Baseline skills not to install for this agent.',
    'sac installs no baseline skills',
  ),
  to_home_layers: ignored(
    stringOrList.optional(),
    'Which shared to_home layers this agent inherits.',
    "layered to_home is not implemented; the baseline (agents/_shared/to_home) and the agent's own to_home are copied",
  ),
  container: ignored(
    z
      .strictObject({
        runtime: z.string().optional().describe('none, docker or apptainer.'),
        image: z.string().optional().describe('Image.'),
        volumes: z.array(z.string()).optional().describe('Extra binds.'),
        network: z.enum(['host', 'bridge', 'none']).optional().describe('Network mode.'),
        mount_host_claude: z.boolean().optional().describe('Bind the host ~/.claude.'),
      })
      .optional(),
    'Legacy pre-v3 container block. A container.image still makes apptainer the default runtime.',
    'use spec.apptainer (image, binds) and spec.sandbox.network',
  ),
});

const SpecSchema = SpecObject.transform((s) => ({
  ...s,
  // the harness alias and the session shortcut are folded here, so consumers read one field
  harness: (s.harness || s.provider || 'anthropic') satisfies Harness,
  claude: s.session === undefined ? s.claude : { ...s.claude, session: s.session },
}))
  .prefault({})
  .describe('The agent definition.');

// ---------------------------------------------------------------------------------------------
// document
// ---------------------------------------------------------------------------------------------

export const AgentSpecSchema = z
  .strictObject({
    apiVersion: z
      .literal(API_VERSION, {
        error: (iss) => `expected '${API_VERSION}', got '${String(iss.input)}'`,
      })
      .describe(`Spec format version: must be ${API_VERSION}. Required.`),
    kind: z
      .enum(['Agent', 'AgentProxy'], {
        error: (iss) => `expected Agent or AgentProxy, got '${String(iss.input)}'`,
      })
      .describe(
        'Agent: a Claude Code agent. AgentProxy: an endpoint that forwards turns to another A2A agent (spec.proxy). Required.',
      ),
    metadata: z
      .strictObject({
        labels: z
          .record(z.string().min(1), scalarString)
          .default({})
          .describe(
            'Free-form string labels. Recognised: role, team, description, function, capabilities (CSV), skills (CSV), cardinality, group. They feed the agent card and `sac agents find`. Default: {}.',
          ),
      })
      .prefault({})
      .describe("Labels only: the agent's name is its directory's name."),
    spec: SpecSchema,
  })
  .describe('A sac agent (scitex-agent-container v3 spec).');

export type AgentSpec = z.output<typeof AgentSpecSchema>;
export type AgentSpecInput = z.input<typeof AgentSpecSchema>;
export type AgentKind = AgentSpec['kind'];

// ---------------------------------------------------------------------------------------------
// introspection: JSON Schema, field docs, ignored keys
// ---------------------------------------------------------------------------------------------

type JSONSchema = z.core.JSONSchema.JSONSchema;

export const AGENT_SPEC_SCHEMA_ID = 'urn:sac:schema:agent-spec:v3';

/**
 * zod drops `default` from the input-side JSON Schema of any schema containing a transform (the
 * default is an output value). Every default here is also valid input (`{}` for an env map, `[]`
 * for binds), and editors and the docs need it, so put it back.
 */
export function restoreDefaults(ctx: { zodSchema: z.core.$ZodType; jsonSchema: JSONSchema }): void {
  const def = ctx.zodSchema._zod.def;
  if (def.type === 'default' && !('default' in ctx.jsonSchema)) {
    const value: unknown = (def as z.core.$ZodDefaultDef).defaultValue;
    ctx.jsonSchema.default = JSON.parse(JSON.stringify(value)) as unknown;
  }
}

/** The editor JSON Schema (draft-07, input side: what may be written). */
export function agentSpecJsonSchema(): JSONSchema {
  const generated = z.toJSONSchema(AgentSpecSchema, {
    io: 'input',
    target: 'draft-07',
    override: restoreDefaults,
  });
  const { $schema, ...rest } = generated;
  return {
    $schema,
    $id: AGENT_SPEC_SCHEMA_ID,
    title: 'sac agent spec (scitex-agent-container/v3)',
    ...rest,
  };
}

/** One documented field, as found by {@link walkFields}. */
export interface FieldDoc {
  /** Dotted path; `[]` stands for any list item, `*` for any map key (`spec.mcp_servers.*.url`). */
  path: string;
  /** Short human type (`boolean`, `string[]`, `'auto' | integer | null`). */
  type: string;
  /** The default, when the field has one. */
  default?: unknown;
  hasDefault: boolean;
  required: boolean;
  description: string;
  /** Why sac accepts but ignores the key, when it does. */
  ignored?: string;
}

function isSchema(s: unknown): s is JSONSchema {
  return typeof s === 'object' && s !== null && !Array.isArray(s);
}

function typeOf(s: JSONSchema): string {
  if (s.const !== undefined) return JSON.stringify(s.const).replaceAll('"', "'");
  if (s.enum) return s.enum.map((v) => (v === null ? 'null' : `'${String(v)}'`)).join(' | ');
  const alts = s.anyOf ?? s.oneOf;
  if (alts) return alts.map(typeOf).join(' | ');
  const t = s.type;
  if (Array.isArray(t)) return t.join(' | ');
  if (t === 'array') {
    const items = s.items;
    if (isSchema(items)) {
      const inner = typeOf(items);
      return inner.includes('|') ? `(${inner})[]` : `${inner}[]`;
    }
    return 'array';
  }
  if (t === 'object') {
    if (s.properties) return 'object';
    const values = s.additionalProperties;
    if (isSchema(values)) return `map of ${typeOf(values)}`;
    return 'map';
  }
  return t ?? 'any';
}

/** Every field of a JSON Schema tree, depth first, in declaration order. */
export function walkFields(root: JSONSchema, prefix: string[] = []): FieldDoc[] {
  const out: FieldDoc[] = [];
  const visit = (node: JSONSchema, path: string[]): void => {
    const required = new Set(node.required ?? []);
    for (const [key, child] of Object.entries(node.properties ?? {})) {
      if (!isSchema(child)) continue;
      const childPath = [...path, key];
      const ignoredReason = child.sacIgnored;
      out.push({
        path: childPath.join('.'),
        type: typeOf(child),
        hasDefault: 'default' in child,
        ...('default' in child ? { default: child.default } : {}),
        required: required.has(key),
        description: child.description ?? '',
        ...(typeof ignoredReason === 'string' ? { ignored: ignoredReason } : {}),
      });
      visit(child, childPath);
    }
    const items = node.items;
    if (isSchema(items)) visit(items, [...path.slice(0, -1), `${path.at(-1) ?? ''}[]`]);
    const values = node.additionalProperties;
    if (isSchema(values)) visit(values, [...path, '*']);
    for (const alt of [...(node.anyOf ?? []), ...(node.oneOf ?? [])]) visit(alt, path);
  };
  visit(root, prefix);
  // a union of objects lists shared keys once per branch
  const seen = new Set<string>();
  return out.filter((f) => (seen.has(f.path) ? false : (seen.add(f.path), true)));
}

/** Field docs of the agent spec (input side). */
export function agentSpecFields(): FieldDoc[] {
  return walkFields(agentSpecJsonSchema());
}

/** Dotted path → reason, for every key of a schema that is accepted but ignored. */
export function ignoredPaths(root: JSONSchema): Map<string, string> {
  const map = new Map<string, string>();
  for (const f of walkFields(root)) if (f.ignored !== undefined) map.set(f.path, f.ignored);
  return map;
}

let ignoredCache: Map<string, string> | undefined;

/**
 * Keys of the agent spec that load but that sac does not act on, as dotted paths
 * (`spec.watchdog`, `spec.claude.account`, `spec.listen[].port` for list items) → one-line reason.
 * The parser warns "accepted, ignored: <reason>" where such a key is written.
 */
export function ignoredFieldPaths(): Map<string, string> {
  ignoredCache ??= ignoredPaths(agentSpecJsonSchema());
  return new Map(ignoredCache);
}
