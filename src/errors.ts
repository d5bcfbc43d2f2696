/**
 * One error model for the CLI, the library and every HTTP surface.
 *
 * Codes are API: SCREAMING_SNAKE, documented here, never renamed. Each fixes the CLI exit code and
 * the HTTP status together, so the same failure means the same thing on every surface.
 * @module
 */

export const ERROR_CODES = {
  /** Operation failed for a reason that has no more specific code. */
  FAILED: { exit: 1, http: 500 },
  /** Bad command-line flags or arguments. */
  USAGE: { exit: 2, http: 400 },
  /** An agent name that breaks the naming rules (`../x`, `.hidden`, `a/b`, too long). */
  NAME_INVALID: { exit: 2, http: 400 },
  /** A spec file whose YAML could not be parsed. */
  SPEC_SYNTAX: { exit: 3, http: 400 },
  /** A spec that parsed but breaks the schema or its rules. */
  SPEC_INVALID: { exit: 3, http: 422 },
  /** The host config.yaml is invalid. */
  CONFIG_INVALID: { exit: 3, http: 422 },
  /** No agent of that name in any scope, or no spec at that path. */
  AGENT_NOT_FOUND: { exit: 4, http: 404 },
  /** A supervisor or server could not be reached. */
  DAEMON_UNREACHABLE: { exit: 5, http: 502 },
  /** The name exists in more than one scope; choose with --scope or SAC_AGENT_SCOPE. */
  AGENT_AMBIGUOUS: { exit: 6, http: 409 },
  /** An agent (directory) of that name already exists. */
  AGENT_EXISTS: { exit: 14, http: 409 },
  /** The agent is already running. */
  AGENT_RUNNING: { exit: 7, http: 409 },
  /** The agent is not running. */
  AGENT_NOT_RUNNING: { exit: 8, http: 409 },
  /** `check --strict` found something that would stop the agent from starting. */
  NOT_READY: { exit: 9, http: 412 },
  /** A sandbox runtime (bwrap, apptainer) is missing or unusable on this host. */
  SANDBOX_UNAVAILABLE: { exit: 10, http: 503 },
  /** A path (socket, file) is longer than the operating system allows. */
  PATH_TOO_LONG: { exit: 11, http: 500 },
  /** The state store could not be opened, migrated or written. */
  STORE_FAILED: { exit: 12, http: 500 },
  /** A file to import or export is malformed. */
  IMPORT_INVALID: { exit: 13, http: 400 },
  /**
   * The agent's home cannot be built from its to_home and baseline: a `.credentials.json` in a
   * source, a dangling symlink, malformed sac markers in CLAUDE.md/state.md, an MCP server defined
   * differently in two sources, a symlink planted in the home where sac must write.
   */
  WORKSPACE_INVALID: { exit: 15, http: 422 },
  /** A lifecycle hook whose failure is fatal (`pre_start`) failed or timed out. */
  HOOK_FAILED: { exit: 16, http: 500 },
  /** Every uid of the host config's `sandbox.uid_range` is taken; widen the range. */
  UID_RANGE_FULL: { exit: 17, http: 503 },
  /** No model credential: the provider's token variable, ANTHROPIC_API_KEY or a Claude login. */
  CREDENTIAL_MISSING: { exit: 18, http: 503 },
  /** The agent started but failed before it was ready (its log tail is in details). */
  START_FAILED: { exit: 19, http: 500 },
  /** Something went wrong that should not have: a bug in sac. */
  INTERNAL: { exit: 70, http: 500 },
  /** Interrupted by the user (SIGINT). */
  INTERRUPTED: { exit: 130, http: 499 },
} as const satisfies Record<string, { exit: number; http: number }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** A problem in a spec or config file, located at the offending node. */
export interface SpecIssue {
  /** `error` fails validation; `warning` is reported but loads. */
  severity: 'error' | 'warning';
  /** Stable machine-readable kind (`unknown_key`, `invalid_type`, `relocated`, `yaml_syntax`, ...). */
  code: string;
  /** Dotted path of the offending node (`spec.claude.model`); empty for the document itself. */
  path: string;
  message: string;
  /** How to fix it, when we know. */
  hint?: string;
  file: string;
  line?: number;
  col?: number;
}

export interface AppErrorOptions {
  details?: Record<string, unknown>;
  hint?: string;
  cause?: unknown;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, options: AppErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.details = options.details;
    this.hint = options.hint;
  }

  get exitCode(): number {
    return ERROR_CODES[this.code].exit;
  }

  get httpStatus(): number {
    return ERROR_CODES[this.code].http;
  }

  /** The wire envelope shared by `--json` output and HTTP error bodies. */
  toJSON(): { error: { code: ErrorCode; message: string; hint?: string; details?: unknown } } {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.hint ? { hint: this.hint } : {}),
        ...(this.details ? { details: this.details } : {}),
      },
    };
  }
}

/** A spec or config that failed validation; carries every issue found, not only the first. */
export class SpecError extends AppError {
  readonly issues: SpecIssue[];

  constructor(code: 'SPEC_SYNTAX' | 'SPEC_INVALID' | 'CONFIG_INVALID', issues: SpecIssue[]) {
    const errors = issues.filter((i) => i.severity === 'error');
    const first = errors[0];
    const where = first ? `${first.file}` : 'spec';
    super(code, `${where}: ${errors.length} problem${errors.length === 1 ? '' : 's'} found`, {
      details: { issues },
    });
    this.name = 'SpecError';
    this.issues = issues;
  }
}

/** True for errors of this module, also across bundle copies (checks the shape, not the class). */
export function isAppError(value: unknown): value is AppError {
  if (!(value instanceof Error)) return false;
  const code = (value as unknown as { code?: unknown }).code;
  return (
    typeof code === 'string' &&
    code in ERROR_CODES &&
    ['AppError', 'SpecError'].includes(value.name)
  );
}

/** Render a located issue the way compilers do: `file:line:col  path  message`. */
export function formatIssue(issue: SpecIssue): string {
  const loc =
    issue.line !== undefined ? `${issue.file}:${issue.line}:${issue.col ?? 1}` : issue.file;
  const sev = issue.severity === 'warning' ? 'warning: ' : '';
  const path = issue.path || '(document)';
  const hint = issue.hint ? `\n    hint: ${issue.hint}` : '';
  return `${loc}  ${path}  ${sev}${issue.message}${hint}`;
}
