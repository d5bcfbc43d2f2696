/**
 * `check` and `explain`: load an agent, validate it, plan its launch and judge whether this host
 * could start it. Library functions: they return data and never print.
 * @module
 */
import { loadHostConfig } from '../config.ts';
import { isAppError, type SpecIssue, SpecError } from '../errors.ts';
import { type Finding, readinessFindings } from '../check/findings.ts';
import { type HostProbe, probeHost } from '../check/host-probe.ts';
import type { Env } from '../paths.ts';
import { type HostFacts, type LaunchPlan, planLaunch } from '../plan/launch-plan.ts';
import { parseSpecFile } from '../spec/parse.ts';
import { type AgentRef, resolveAgent, type ResolveOptions } from '../spec/resolve.ts';
import type { AgentSpec } from '../spec/schema.ts';
import { storeLocation } from '../store/db.ts';

export interface InspectOptions extends ResolveOptions {
  env?: Env;
  /** Test seam: facts about the host (default: probed). */
  probe?: HostProbe;
}

export interface CheckReport {
  target: string;
  name?: string;
  scope?: AgentRef['scope'];
  specPath?: string;
  /** The spec validated (warnings allowed). */
  valid: boolean;
  issues: SpecIssue[];
  findings: Finding[];
  /** Valid and no blocker: `start` would go ahead. */
  ready: boolean;
  /** Set when the target could not even be resolved or read. */
  error?: { code: string; message: string; hint?: string };
}

function hostFacts(opts: InspectOptions, probe: HostProbe): HostFacts {
  const env = opts.env ?? process.env;
  const config = loadHostConfig({ env, ...(opts.cwd ? { cwd: opts.cwd } : {}) }).config;
  return { uid: probe.uid, gid: probe.gid, uidRange: config.sandbox.uid_range, env };
}

function storeFindings(env: Env): Finding[] {
  const loc = storeLocation(env);
  return loc.relocated && loc.reason
    ? [{ severity: 'info', code: 'store_relocated', message: loc.reason }]
    : [];
}

/** Validate each target and probe what starting it would need. Never throws for one bad target. */
export function checkAgents(targets: readonly string[], opts: InspectOptions = {}): CheckReport[] {
  const probe = opts.probe ?? probeHost(opts.env ?? process.env);
  let facts: HostFacts | undefined;
  return targets.map((target): CheckReport => {
    let ref: AgentRef;
    try {
      ref = resolveAgent(target, opts);
    } catch (err) {
      if (!isAppError(err)) throw err;
      return {
        target,
        valid: false,
        issues: [],
        findings: [],
        ready: false,
        error: { code: err.code, message: err.message, ...(err.hint ? { hint: err.hint } : {}) },
      };
    }
    const base = { target, name: ref.name, scope: ref.scope, specPath: ref.specPath };
    const result = parseSpecFile(ref.specPath);
    if (!result.ok) {
      return { ...base, valid: false, issues: result.issues, findings: [], ready: false };
    }
    facts ??= hostFacts(opts, probe);
    const plan = planLaunch(ref, result.spec, facts);
    const findings = [...readinessFindings(result.spec, plan, probe), ...storeFindings(facts.env)];
    return {
      ...base,
      valid: true,
      issues: result.issues,
      findings,
      ready: !findings.some((f) => f.severity === 'blocker'),
    };
  });
}

export interface Explanation {
  name: string;
  scope: AgentRef['scope'];
  specPath: string;
  specSha256: string;
  /** The effective spec: what was written, with every default resolved. */
  spec: AgentSpec;
  plan: LaunchPlan;
  warnings: SpecIssue[];
}

/** The effective spec and launch plan of one agent; an invalid spec throws SpecError. */
export function explainAgent(target: string, opts: InspectOptions = {}): Explanation {
  const ref = resolveAgent(target, opts);
  const result = parseSpecFile(ref.specPath);
  if (!result.ok) {
    throw new SpecError(
      result.issues.some((i) => i.code === 'yaml_syntax') ? 'SPEC_SYNTAX' : 'SPEC_INVALID',
      result.issues,
    );
  }
  const probe = opts.probe ?? probeHost(opts.env ?? process.env);
  const plan = planLaunch(ref, result.spec, hostFacts(opts, probe));
  return {
    name: ref.name,
    scope: ref.scope,
    specPath: ref.specPath,
    specSha256: result.sha256,
    spec: result.spec,
    plan,
    warnings: result.issues,
  };
}
