/**
 * The host config (`config.yaml`) and the settings cascade:
 * CLI flag → environment (`SAC_<X>` or `SCITEX_AGENT_CONTAINER_<X>`) → project config → user config
 * → built-in default. Setting both environment spellings to different values is an error.
 * @module
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isMap, LineCounter, parseDocument } from 'yaml';
import { AppError, type SpecIssue, SpecError } from './errors.ts';
import { type Env, layout, projectRoot, resolveUserPath, sacRoot } from './paths.ts';
import { dotPath, locate, yamlMessage } from './spec/locate.ts';
import { type HostConfig, HostConfigSchema } from './spec/host-config.ts';

/** Settings that can come from the environment, with the variable suffix that names them. */
export const ENV_SETTINGS = {
  'host.canonical': 'HOST',
  'listen.host': 'LISTEN_HOST',
  'listen.port': 'LISTEN_PORT',
  'a2a.port_range': 'A2A_PORT_RANGE',
  'sandbox.uid_range': 'SANDBOX_UID_RANGE',
} as const;
export type SettingKey = keyof typeof ENV_SETTINGS;

export type SettingSource = 'flag' | 'env' | 'project' | 'user' | 'default';

export interface LoadedHostConfig {
  config: HostConfig;
  /** Where each cascaded setting came from (for `explain`, `check` and docs). */
  sources: Record<SettingKey, SettingSource>;
  files: { user?: string; project?: string };
}

export interface HostConfigOptions {
  env?: Env;
  cwd?: string;
  /** Values given on the command line, by setting key. */
  flags?: Partial<Record<SettingKey, unknown>>;
}

type Plain = Record<string, unknown>;

function readConfigFile(file: string): Plain {
  const text = readFileSync(file, 'utf8');
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: true });
  const issues: SpecIssue[] = doc.errors.map((e) => ({
    severity: 'error',
    code: 'yaml_syntax',
    path: '',
    message: yamlMessage(e.message),
    file,
    ...(e.linePos?.[0] ? { line: e.linePos[0].line, col: e.linePos[0].col } : {}),
  }));
  if (issues.length) throw new SpecError('CONFIG_INVALID', issues);
  if (doc.contents === null) return {};
  if (!isMap(doc.contents)) {
    throw new SpecError('CONFIG_INVALID', [
      {
        severity: 'error',
        code: 'invalid_type',
        path: '',
        message: 'config.yaml must be a mapping',
        file,
        line: 1,
        col: 1,
      },
    ]);
  }
  const raw = doc.toJS() as Plain;
  // validate each file on its own so errors point at the right file and line
  const parsed = HostConfigSchema.safeParse(raw);
  if (!parsed.success) {
    throw new SpecError(
      'CONFIG_INVALID',
      parsed.error.issues.map((i) => {
        const path = i.path.filter((p): p is string | number => typeof p !== 'symbol');
        const keys = i.code === 'unrecognized_keys' ? i.keys : [];
        const full = keys.length ? [...path, keys[0]!] : path;
        const pos = locate(doc, counter, full, keys.length ? 'key' : 'value');
        return {
          severity: 'error' as const,
          code: i.code === 'unrecognized_keys' ? 'unknown_key' : i.code,
          path: dotPath(full),
          message:
            i.code === 'unrecognized_keys'
              ? `unknown key(s) ${keys.map((k) => `"${k}"`).join(', ')}`
              : i.message,
          file,
          ...(pos ? { line: pos.line, col: pos.col } : {}),
        };
      }),
    );
  }
  return raw;
}

function getPath(obj: Plain, key: string): unknown {
  return key
    .split('.')
    .reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Plain)[k] : undefined), obj);
}

function setPath(obj: Plain, key: string, value: unknown): void {
  const parts = key.split('.');
  let cur = obj;
  for (const p of parts.slice(0, -1)) {
    if (!cur[p] || typeof cur[p] !== 'object') cur[p] = {};
    cur = cur[p] as Plain;
  }
  cur[parts[parts.length - 1]!] = value;
}

function deepMerge(base: Plain, over: Plain): Plain {
  const out: Plain = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] =
      v &&
      typeof v === 'object' &&
      !Array.isArray(v) &&
      b &&
      typeof b === 'object' &&
      !Array.isArray(b)
        ? deepMerge(b as Plain, v as Plain)
        : v;
  }
  return out;
}

/** Environment values are strings; numbers and `[lo, hi]` / `lo-hi` ranges are parsed. */
function parseEnvValue(raw: string): unknown {
  const range = /^\s*\[?\s*(\d+)\s*[,-]\s*(\d+)\s*\]?\s*$/.exec(raw);
  if (range) return [Number(range[1]), Number(range[2])];
  if (/^\d+$/.test(raw)) return Number(raw);
  return raw;
}

/** The value of one setting from the environment, refusing conflicting spellings. */
export function envSetting(key: SettingKey, env: Env): unknown {
  const suffix = ENV_SETTINGS[key];
  const a = env[`SAC_${suffix}`];
  const b = env[`SCITEX_AGENT_CONTAINER_${suffix}`];
  if (a !== undefined && b !== undefined && a !== b) {
    throw new AppError(
      'USAGE',
      `SAC_${suffix}=${JSON.stringify(a)} and SCITEX_AGENT_CONTAINER_${suffix}=${JSON.stringify(b)} disagree`,
      { hint: `unset one of them (they set the same setting, ${key})` },
    );
  }
  const v = a ?? b;
  return v === undefined || v === '' ? undefined : parseEnvValue(v);
}

/** User config file path: `$SCITEX_AGENT_CONTAINER_CONFIG`, else `<sac root>/config.yaml`. */
export function userConfigPath(env: Env = process.env): string {
  const explicit = env.SCITEX_AGENT_CONTAINER_CONFIG;
  return explicit ? resolveUserPath(explicit, process.cwd(), env) : layout(sacRoot(env)).config;
}

/** Load, validate and cascade the host configuration. */
export function loadHostConfig(opts: HostConfigOptions = {}): LoadedHostConfig {
  const env = opts.env ?? process.env;
  const files: LoadedHostConfig['files'] = {};
  const userFile = userConfigPath(env);
  const user = existsSync(userFile) ? readConfigFile(userFile) : {};
  if (existsSync(userFile)) files.user = userFile;
  const proj = projectRoot(opts.cwd ?? process.cwd());
  const projectFile = proj ? join(proj, 'config.yaml') : undefined;
  const project = projectFile && existsSync(projectFile) ? readConfigFile(projectFile) : {};
  if (projectFile && existsSync(projectFile)) files.project = projectFile;

  let merged = deepMerge(user, project);
  const sources = {} as Record<SettingKey, SettingSource>;
  for (const key of Object.keys(ENV_SETTINGS) as SettingKey[]) {
    const flag = opts.flags?.[key];
    const fromEnv = envSetting(key, env);
    if (flag !== undefined) {
      setPath(merged, key, flag);
      sources[key] = 'flag';
    } else if (fromEnv !== undefined) {
      setPath(merged, key, fromEnv);
      sources[key] = 'env';
    } else if (getPath(project, key) !== undefined) {
      sources[key] = 'project';
    } else if (getPath(user, key) !== undefined) {
      sources[key] = 'user';
    } else {
      sources[key] = 'default';
    }
  }
  merged = deepMerge({}, merged);
  const parsed = HostConfigSchema.safeParse(merged);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    const key = first
      ? dotPath(first.path.filter((p): p is string | number => typeof p !== 'symbol'))
      : '';
    throw new AppError('CONFIG_INVALID', `invalid setting ${key}: ${first?.message ?? 'invalid'}`, {
      hint: 'check the flag or environment variable that sets it',
      details: { sources },
    });
  }
  return { config: parsed.data, sources, files };
}
