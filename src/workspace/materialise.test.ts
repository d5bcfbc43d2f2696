import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { MARKER_END, MARKER_START } from './markers.ts';
import {
  BASELINE_ENV,
  materialiseHome,
  type MaterialiseOptions,
  resolveBaseline,
} from './materialise.ts';
import { appErrorOf as thrown } from '../../test/support/errors.ts';

const isRoot = process.getuid?.() === 0;

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sac-home-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function put(root: string, rel: string, text: string | Buffer = rel, mode?: number): string {
  const path = join(root, rel);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
  if (mode !== undefined) chmodSync(path, mode);
  return path;
}

function read(root: string, rel: string): string {
  return readFileSync(join(root, rel), 'utf8');
}

function mode(path: string): number {
  return lstatSync(path).mode & 0o7777;
}

/** An agents dir with agent `alpha` (to_home under it) and its runtime dir. */
function fixture(): { t: string; agents: string; toHome: string; opts: MaterialiseOptions } {
  const t = tempDir();
  const agents = join(t, 'agents');
  const toHome = join(agents, 'alpha', 'to_home');
  mkdirSync(toHome, { recursive: true });
  const opts: MaterialiseOptions = {
    name: 'alpha',
    labels: { role: 'reviewer' },
    homeDir: join(t, 'runtime', 'alpha', 'home'),
    toHomeDir: toHome,
    agentsDir: agents,
    workdir: { host: join(t, 'runtime', 'alpha', 'work'), sandbox: '/work' },
    specPath: join(agents, 'alpha', 'spec.yaml'),
    env: {},
  };
  return { t, agents, toHome, opts };
}

function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(dir, rel))) {
      const r = rel === '' ? name : `${rel}/${name}`;
      const st = lstatSync(join(dir, r));
      if (st.isDirectory()) walk(r);
      else out[r] = st.isSymbolicLink() ? `-> ${readlinkSync(join(dir, r))}` : read(dir, r);
    }
  };
  if (existsSync(dir)) walk('');
  return out;
}

describe('materialiseHome', () => {
  it('builds the home from the baseline, then to_home (per-agent files win)', () => {
    const { agents, toHome, opts } = fixture();
    const base = join(agents, '_shared', 'to_home');
    put(base, 'CLAUDE.md', 'baseline rules\n');
    put(base, '.claude/skills/shared/SKILL.md', 'shared skill\n');
    put(base, '.claude/settings.json', '{"from":"baseline"}');
    put(toHome, 'CLAUDE.md', 'I am ${metadata.name}, the ${metadata.labels.role}.\n');
    put(toHome, '.claude/settings.json', '{"from":"agent"}');
    put(toHome, 'bin/tool.sh', '#!/bin/sh\necho ${metadata.name}\n', 0o755);
    put(toHome, 'ro.txt', 'read only\n', 0o444);
    put(toHome, 'blob.bin', Buffer.from([0, 1, 2, 0xff, 0x24, 0x7b]));

    const r = materialiseHome(opts);
    const home = opts.homeDir;
    expect(r.baseline).toBe(base);
    expect(r.warnings).toEqual([]);
    expect(read(home, 'CLAUDE.md')).toBe(
      `${MARKER_START}\nI am alpha, the reviewer.\n${MARKER_END}\n`,
    );
    expect(read(home, '.claude/skills/shared/SKILL.md')).toBe('shared skill\n');
    expect(read(home, '.claude/settings.json')).toBe('{"from":"agent"}');
    expect(read(home, 'bin/tool.sh')).toBe('#!/bin/sh\necho alpha\n');
    expect(mode(join(home, 'bin/tool.sh'))).toBe(0o755);
    expect(mode(join(home, 'ro.txt'))).toBe(0o444);
    expect(readFileSync(join(home, 'blob.bin'))).toEqual(Buffer.from([0, 1, 2, 0xff, 0x24, 0x7b]));
    expect(mode(home)).toBe(0o700);
    expect(r.filesWritten).toEqual(
      expect.arrayContaining([
        'CLAUDE.md',
        '.claude/CLAUDE.md',
        '.mcp.json',
        '.claude.json',
        'ro.txt',
      ]),
    );
    // the workdir is created
    expect(statSync(opts.workdir.host).isDirectory()).toBe(true);
    expect(r.workdirCreated).toBe(true);
  });

  it('makes ~/.claude/CLAUDE.md a relative link to ../CLAUDE.md, so the model reads it', () => {
    const { toHome, opts } = fixture();
    put(toHome, 'CLAUDE.md', 'marker-123\n');
    materialiseHome(opts);
    const link = join(opts.homeDir, '.claude', 'CLAUDE.md');
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readlinkSync(link)).toBe('../CLAUDE.md');
    expect(readFileSync(link, 'utf8')).toContain('marker-123');
  });

  it("uses to_home's own .claude/CLAUDE.md instead of the link", () => {
    const { toHome, opts } = fixture();
    put(toHome, 'CLAUDE.md', 'top\n');
    materialiseHome(opts);
    put(toHome, '.claude/CLAUDE.md', 'own user memory\n');
    materialiseHome(opts);
    const file = join(opts.homeDir, '.claude', 'CLAUDE.md');
    expect(lstatSync(file).isFile()).toBe(true);
    expect(readFileSync(file, 'utf8')).toBe(`${MARKER_START}\nown user memory\n${MARKER_END}\n`);
    // and back to the link once to_home drops it (the file held nothing but sac's block)
    rmSync(join(toHome, '.claude'), { recursive: true });
    materialiseHome(opts);
    expect(readlinkSync(file)).toBe('../CLAUDE.md');
  });

  it("keeps a hand-written ~/.claude/CLAUDE.md and says that ~/CLAUDE.md doesn't reach the model", () => {
    const { toHome, opts } = fixture();
    put(toHome, 'CLAUDE.md', 'top\n');
    put(opts.homeDir, '.claude/CLAUDE.md', 'hand written\n');
    const r = materialiseHome(opts);
    expect(read(opts.homeDir, '.claude/CLAUDE.md')).toBe('hand written\n');
    expect(r.warnings.join('\n')).toMatch(
      /is a file of its own, so ~\/CLAUDE\.md does not reach the model/,
    );
  });

  it('a restart keeps what the agent wrote: notes below the marker, transcripts, Claude Code state', () => {
    const { toHome, opts } = fixture();
    put(toHome, 'CLAUDE.md', 'v1\n');
    put(toHome, 'state.md', 'state v1\n');
    materialiseHome(opts);
    const home = opts.homeDir;
    writeFileSync(join(home, 'CLAUDE.md'), `${read(home, 'CLAUDE.md')}agent notes\n`);
    writeFileSync(join(home, 'state.md'), `${read(home, 'state.md')}progress: 3/5\n`);
    put(home, '.claude/projects/-work/abc.jsonl', '{"type":"user"}\n');
    const cj = JSON.parse(read(home, '.claude.json')) as Record<string, unknown>;
    writeFileSync(
      join(home, '.claude.json'),
      JSON.stringify({ ...cj, numStartups: 4, userID: 'u1' }),
    );

    put(toHome, 'CLAUDE.md', 'v2\n');
    const r = materialiseHome(opts);
    expect(r.warnings).toEqual([]);
    expect(read(home, 'CLAUDE.md')).toBe(`${MARKER_START}\nv2\n${MARKER_END}\nagent notes\n`);
    expect(read(home, 'state.md')).toBe(
      `${MARKER_START}\nstate v1\n${MARKER_END}\nprogress: 3/5\n`,
    );
    expect(read(home, '.claude/projects/-work/abc.jsonl')).toBe('{"type":"user"}\n');
    expect(JSON.parse(read(home, '.claude.json'))).toMatchObject({
      numStartups: 4,
      userID: 'u1',
      hasCompletedOnboarding: true,
      projects: { '/work': { hasTrustDialogAccepted: true } },
    });
  });

  it('pre-seeds .claude.json, filling keys from to_home without clobbering', () => {
    const { toHome, opts } = fixture();
    put(toHome, '.claude.json', '{"theme":"light","numStartups":0}');
    put(opts.homeDir, '.claude.json', '{"numStartups":9}');
    materialiseHome(opts);
    expect(JSON.parse(read(opts.homeDir, '.claude.json'))).toEqual({
      numStartups: 9,
      theme: 'light',
      hasCompletedOnboarding: true,
      projects: { '/work': { hasTrustDialogAccepted: true, hasCompletedProjectOnboarding: true } },
    });
    expect(mode(join(opts.homeDir, '.claude.json'))).toBe(0o600);
  });

  it('keeps an unreadable .claude.json aside and rebuilds it', () => {
    const { opts } = fixture();
    put(opts.homeDir, '.claude.json', '{"truncated');
    const r = materialiseHome(opts);
    expect(r.warnings[0]).toMatch(
      /\.claude\.json: unreadable .* kept as \.claude\.json\.corrupt-\d+ and rebuilt/,
    );
    const aside = readdirSync(opts.homeDir).find((n) => n.startsWith('.claude.json.corrupt-'));
    expect(read(opts.homeDir, aside!)).toBe('{"truncated');
    expect(JSON.parse(read(opts.homeDir, '.claude.json'))).toMatchObject({
      hasCompletedOnboarding: true,
    });
  });

  it('merges .mcp.json from baseline, to_home and spec.mcp_servers, regenerated each start', () => {
    const { agents, toHome, opts } = fixture();
    put(join(agents, '_base'), '.mcp.json', '{"mcpServers":{"shared":{"command":"s"}}}');
    put(toHome, '.mcp.json', '{"mcpServers":{"mine":{"command":"m","args":["${metadata.name}"]}}}');
    const r = materialiseHome({
      ...opts,
      mcpServers: { web: { type: 'http', url: 'http://127.0.0.1:9/${metadata.labels.role}' } },
    });
    const expected = {
      shared: { command: 's' },
      mine: { command: 'm', args: ['alpha'] },
      web: { type: 'http', url: 'http://127.0.0.1:9/reviewer' },
    };
    expect(r.mcpServers).toEqual(expected);
    expect(JSON.parse(read(opts.homeDir, '.mcp.json'))).toEqual({ mcpServers: expected });
    expect(mode(join(opts.homeDir, '.mcp.json'))).toBe(0o600);
    // an edit by the agent does not survive; a server dropped from the spec leaves
    writeFileSync(join(opts.homeDir, '.mcp.json'), '{"mcpServers":{"evil":{"command":"x"}}}');
    materialiseHome(opts);
    const again = JSON.parse(read(opts.homeDir, '.mcp.json')) as { mcpServers: object };
    expect(Object.keys(again.mcpServers)).toEqual(['shared', 'mine']);
  });

  it('fails loudly on one MCP server defined differently in two sources, writing nothing', () => {
    const { toHome, opts } = fixture();
    put(toHome, '.mcp.json', '{"mcpServers":{"fs":{"command":"a"}}}');
    put(toHome, 'CLAUDE.md', 'x\n');
    const err = thrown(() => materialiseHome({ ...opts, mcpServers: { fs: { command: 'b' } } }));
    expect(err.code).toBe('WORKSPACE_INVALID');
    expect(err.message).toContain(
      `MCP server "fs" is defined differently in to_home ${join(toHome, '.mcp.json')} and in spec.mcp_servers in ${opts.specPath}`,
    );
    expect(existsSync(opts.homeDir)).toBe(false);
  });

  it('.env and .envrc are 0600; a read-only destination is replaced', () => {
    const { toHome, opts } = fixture();
    put(toHome, '.env', 'NAME=${metadata.name}\n', 0o644);
    put(toHome, '.envrc', 'export X=1\n', 0o644);
    put(toHome, 'ro.txt', 'v1\n', 0o444);
    materialiseHome(opts);
    expect(read(opts.homeDir, '.env')).toBe('NAME=alpha\n');
    expect(mode(join(opts.homeDir, '.env'))).toBe(0o600);
    expect(mode(join(opts.homeDir, '.envrc'))).toBe(0o600);
    chmodSync(join(toHome, 'ro.txt'), 0o644);
    writeFileSync(join(toHome, 'ro.txt'), 'v2\n');
    chmodSync(join(toHome, 'ro.txt'), 0o444);
    materialiseHome(opts);
    expect(read(opts.homeDir, 'ro.txt')).toBe('v2\n');
  });

  it('never expands host environment variables, and warns about unknown labels', () => {
    const { toHome, opts } = fixture();
    put(toHome, 'CLAUDE.md', 'key ${ANTHROPIC_API_KEY}\nteam ${metadata.labels.team}\n');
    const r = materialiseHome({ ...opts, env: { ANTHROPIC_API_KEY: 'sk-ant-secret' } });
    expect(read(opts.homeDir, 'CLAUDE.md')).toContain(
      'key ${ANTHROPIC_API_KEY}\nteam ${metadata.labels.team}\n',
    );
    expect(r.warnings).toEqual([
      `${join(toHome, 'CLAUDE.md')}:2: \${metadata.labels.team} names nothing (labels: role); left as written`,
    ]);
  });

  it('refuses credentials anywhere in the sources and leaves the home untouched', () => {
    const { agents, toHome, opts } = fixture();
    put(toHome, 'CLAUDE.md', 'v1\n');
    materialiseHome(opts);
    const before = snapshot(opts.homeDir);
    put(toHome, 'CLAUDE.md', 'v2\n');
    put(join(agents, '_shared', 'to_home'), '.claude/.credentials.json', '{"token":"x"}');
    const err = thrown(() => materialiseHome(opts));
    expect(err.code).toBe('WORKSPACE_INVALID');
    expect(err.message).toContain('.credentials.json is never copied');
    expect(snapshot(opts.homeDir)).toEqual(before);
  });

  it('refuses malformed markers in the home file, located, without writing', () => {
    const { toHome, opts } = fixture();
    put(toHome, 'CLAUDE.md', 'v1\n');
    put(opts.homeDir, 'CLAUDE.md', `${MARKER_START}\nx\n${MARKER_START}\n${MARKER_END}\n`);
    const err = thrown(() => materialiseHome(opts));
    expect(err.message).toMatch(new RegExp(`^${join(opts.homeDir, 'CLAUDE.md')}:3: duplicated`));
    expect(existsSync(join(opts.homeDir, '.mcp.json'))).toBe(false);
  });

  it('never writes or reads through a symlink planted in the home', () => {
    const { t, toHome, opts } = fixture();
    const victim = put(t, 'host/secret.txt', 'host secret\n');
    put(toHome, 'CLAUDE.md', 'rules\n');
    mkdirSync(opts.homeDir, { recursive: true });
    symlinkSync(victim, join(opts.homeDir, 'CLAUDE.md'));
    const r = materialiseHome(opts);
    expect(read(t, 'host/secret.txt')).toBe('host secret\n');
    expect(lstatSync(join(opts.homeDir, 'CLAUDE.md')).isFile()).toBe(true);
    expect(read(opts.homeDir, 'CLAUDE.md')).not.toContain('host secret');
    expect(r.warnings[0]).toMatch(/was a symlink; replaced by a regular file/);

    // a planted directory link is refused outright
    mkdirSync(join(t, 'host', 'dotclaude'));
    rmSync(join(opts.homeDir, '.claude'), { recursive: true });
    symlinkSync(join(t, 'host', 'dotclaude'), join(opts.homeDir, '.claude'));
    put(toHome, '.claude/settings.json', '{}');
    const err = thrown(() => materialiseHome(opts));
    expect(err.message).toBe(
      `${join(opts.homeDir, '.claude')}: is a symlink where sac needs a directory`,
    );
    expect(readdirSync(join(t, 'host', 'dotclaude'))).toEqual([]);
  });

  it('refuses a directory in the home where to_home has a file, before writing anything', () => {
    const { toHome, opts } = fixture();
    put(toHome, 'CLAUDE.md', 'x\n');
    put(toHome, 'notes', 'a file\n');
    mkdirSync(join(opts.homeDir, 'notes'), { recursive: true });
    const err = thrown(() => materialiseHome(opts));
    expect(err.message).toBe(
      `${join(opts.homeDir, 'notes')}: is a directory where sac writes a file`,
    );
    expect(readdirSync(opts.homeDir)).toEqual(['notes']);
  });

  it('leaves an existing workdir alone', () => {
    const { t, opts } = fixture();
    const work = join(t, 'project');
    mkdirSync(work, { mode: 0o755 });
    const r = materialiseHome({ ...opts, workdir: { host: work, sandbox: '/work' } });
    expect(r.workdirCreated).toBe(false);
  });
});

describe('resolveBaseline', () => {
  it('prefers $SAC_TO_HOME_BASELINE, then _shared/to_home, then _base', () => {
    const t = tempDir();
    expect(resolveBaseline(t, {})).toBeUndefined();
    mkdirSync(join(t, '_base'));
    expect(resolveBaseline(t, {})).toBe(join(t, '_base'));
    mkdirSync(join(t, '_shared', 'to_home'), { recursive: true });
    expect(resolveBaseline(t, {})).toBe(join(t, '_shared', 'to_home'));
    mkdirSync(join(t, 'custom'));
    expect(resolveBaseline(t, { [BASELINE_ENV]: join(t, 'custom') })).toBe(join(t, 'custom'));
    expect(resolveBaseline(t, { [BASELINE_ENV]: '' })).toBe(join(t, '_shared', 'to_home'));
  });

  it('refuses a $SAC_TO_HOME_BASELINE that names no directory', () => {
    expect(() => resolveBaseline('/x', { [BASELINE_ENV]: '/nonexistent/baseline' })).toThrow(
      /SAC_TO_HOME_BASELINE names no directory/,
    );
  });
});

describe.skipIf(!isRoot)('materialiseHome as root with an agent uid', () => {
  const owner = { uid: 61500, gid: 61500 };

  it('owns the home (0700), everything it writes, and the workdir it creates', () => {
    const { toHome, opts } = fixture();
    put(toHome, 'CLAUDE.md', 'x\n');
    put(toHome, '.claude/skills/a/SKILL.md', 'skill\n');
    materialiseHome({ ...opts, owner });
    const home = opts.homeDir;
    for (const rel of [
      '',
      'CLAUDE.md',
      '.claude',
      '.claude/skills',
      '.claude/skills/a',
      '.claude/skills/a/SKILL.md',
      '.claude/CLAUDE.md',
      '.mcp.json',
      '.claude.json',
    ]) {
      const st = lstatSync(join(home, rel));
      expect([rel, st.uid, st.gid]).toEqual([rel, 61500, 61500]);
    }
    expect(mode(home)).toBe(0o700);
    expect(statSync(opts.workdir.host).uid).toBe(61500);
    // the runtime dir above stays the operator's
    expect(statSync(join(home, '..')).uid).toBe(0);
  });

  it("never chowns a user's existing workdir, and warns when the agent cannot write it", () => {
    const { t, opts } = fixture();
    const work = join(t, 'project');
    mkdirSync(work, { mode: 0o755 });
    const r = materialiseHome({ ...opts, owner, workdir: { host: work, sandbox: '/work' } });
    expect(statSync(work).uid).toBe(0);
    expect(r.warnings.join('\n')).toMatch(/the agent's uid 61500 cannot write its workdir/);
  });

  it('re-owns a home that changes hands (a new uid), transcripts included', () => {
    const { toHome, opts } = fixture();
    put(toHome, 'CLAUDE.md', 'x\n');
    materialiseHome({ ...opts, owner });
    put(opts.homeDir, '.claude/projects/-work/t.jsonl', '{}\n'); // written as root here
    const r = materialiseHome({ ...opts, owner: { uid: 61501, gid: 61501 } });
    expect(lstatSync(join(opts.homeDir, '.claude/projects/-work/t.jsonl')).uid).toBe(61501);
    expect(lstatSync(join(opts.homeDir, '.claude/CLAUDE.md')).uid).toBe(61501);
    expect(r.warnings.join('\n')).toMatch(
      /was owned by 61500:61500; \d+ entries re-owned to 61501:61501/,
    );
  });
});
