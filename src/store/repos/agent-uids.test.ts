import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appErrorOf as thrown } from '../../../test/support/errors.ts';
import { exportDb, importDb } from '../admin.ts';
import { openStore, type Store } from '../db.ts';
import {
  agentUid,
  type AgentUidRequest,
  type HostIds,
  listAgentUids,
  parseIdFile,
  parseSpecUser,
  releaseAgentUid,
} from './agent-uids.ts';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));

let home: string;
let stores: Store[];
let store: Store;

function open(): Store {
  const s = openStore({ env: { SAC_HOME: home }, host: 'test-host' });
  stores.push(s);
  return s;
}

beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'sac-uids-'));
  stores = [];
  store = open();
});
afterEach(() => {
  for (const s of stores) s.close();
  rmSync(home, { recursive: true, force: true });
});

const noHostIds = (): HostIds => ({ uids: new Set(), gids: new Set() });

const req = (name: string, extra: Partial<AgentUidRequest> = {}): AgentUidRequest => ({
  runtimeDir: `/sac/runtime/${name}`,
  name,
  range: [61000, 61009],
  hostIds: noHostIds,
  ...extra,
});

describe('agentUid', () => {
  it('allocates the lowest free uid (gid = uid) and keeps it', () => {
    expect(agentUid(store, req('a'))).toEqual({
      uid: 61000,
      gid: 61000,
      source: 'allocated',
      warnings: [],
    });
    expect(agentUid(store, req('b'))).toMatchObject({ uid: 61001, source: 'allocated' });
    expect(agentUid(store, req('a'))).toEqual({
      uid: 61000,
      gid: 61000,
      source: 'recorded',
      warnings: [],
    });
    expect(listAgentUids(store).map((r) => [r.name, r.uid, r.gid])).toEqual([
      ['a', 61000, 61000],
      ['b', 61001, 61001],
    ]);
  });

  it('skips uids and gids used by host accounts', () => {
    const hostIds = (): HostIds => ({ uids: new Set([61000, 61002]), gids: new Set([61001]) });
    expect(agentUid(store, req('a', { hostIds })).uid).toBe(61003);
  });

  it('reuses a released uid', () => {
    agentUid(store, req('a'));
    agentUid(store, req('b'));
    expect(releaseAgentUid(store, '/sac/runtime/a')).toBe(true);
    expect(releaseAgentUid(store, '/sac/runtime/a')).toBe(false);
    expect(agentUid(store, req('c')).uid).toBe(61000);
  });

  it('a full range is a clear error pointing at sandbox.uid_range', () => {
    const range = [61000, 61001] as const;
    agentUid(store, req('a', { range }));
    agentUid(store, req('b', { range }));
    const err = thrown(() => agentUid(store, req('c', { range })));
    expect(err.code).toBe('UID_RANGE_FULL');
    expect(err.message).toBe(
      'no free uid for agent c: every uid of sandbox.uid_range 61000-61001 is held by an agent or a host account',
    );
    expect(err.hint).toContain('widen sandbox.uid_range in config.yaml');
  });

  it('an explicit spec.user wins and is not recorded', () => {
    expect(agentUid(store, req('a', { explicit: { uid: 5000, gid: 5001 } }))).toEqual({
      uid: 5000,
      gid: 5001,
      source: 'explicit',
      warnings: [],
    });
    expect(listAgentUids(store)).toEqual([]);
  });

  it('refuses root and a uid sac gave to another agent', () => {
    expect(thrown(() => agentUid(store, req('a', { explicit: { uid: 0, gid: 0 } }))).message).toBe(
      'spec.user of agent a names root (0:0)',
    );
    expect(thrown(() => agentUid(store, req('a', { explicit: { uid: 7, gid: 0 } }))).code).toBe(
      'SPEC_INVALID',
    );
    agentUid(store, req('b'));
    const err = thrown(() => agentUid(store, req('a', { explicit: { uid: 61000, gid: 61000 } })));
    expect(err.message).toBe(
      'spec.user of agent a names uid 61000, which sac allocated to agent b (/sac/runtime/b)',
    );
  });

  it('keeps a recorded uid a host account now uses, with a warning', () => {
    agentUid(store, req('a'));
    const hostIds = (): HostIds => ({ uids: new Set([61000]), gids: new Set() });
    const id = agentUid(store, req('a', { hostIds, range: [62000, 62009] }));
    expect(id).toMatchObject({ uid: 61000, source: 'recorded' });
    expect(id.warnings[0]).toMatch(/a host account or group now uses too/);
    expect(id.warnings[1]).toMatch(
      /keeps uid 61000, allocated before sandbox.uid_range became 62000-62009/,
    );
  });

  it('two connections see each other: never one uid for two agents', () => {
    const other = open();
    expect(agentUid(store, req('a')).uid).toBe(61000);
    expect(agentUid(other, req('b')).uid).toBe(61001);
    expect(agentUid(other, req('a'))).toMatchObject({ uid: 61000, source: 'recorded' });
    expect(agentUid(store, req('b'))).toMatchObject({ uid: 61001, source: 'recorded' });
  });

  it('concurrent starts in separate processes get distinct uids', async () => {
    const n = 6;
    const go = join(home, 'go');
    const script = join(home, 'alloc.mts');
    writeFileSync(
      script,
      `import { existsSync } from 'node:fs';
import { openStore } from ${JSON.stringify(join(REPO, 'src/store/db.ts'))};
import { agentUid } from ${JSON.stringify(join(REPO, 'src/store/repos/agent-uids.ts'))};
const name = process.argv[2] as string;
const store = openStore({ env: { SAC_HOME: ${JSON.stringify(home)} }, host: 'test-host' });
console.log('ready');
while (!existsSync(${JSON.stringify(go)})) await new Promise((r) => setTimeout(r, 2));
const id = agentUid(store, {
  runtimeDir: '/sac/runtime/' + name,
  name,
  range: [61000, 61099],
  hostIds: () => ({ uids: new Set(), gids: new Set() }),
});
console.log(JSON.stringify({ name, uid: id.uid }));
store.close();
`,
    );
    const children = Array.from({ length: n }, (_, i) => {
      const child = spawn(process.execPath, ['--import', 'tsx', script, `agent-${i}`], {
        cwd: REPO,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      child.stderr.on('data', (c: Buffer) => (err += c.toString()));
      const ready = new Promise<void>((resolve) => {
        const check = (): void => {
          if (out.includes('ready')) resolve();
        };
        child.stdout.on('data', check);
      });
      const done = new Promise<{ code: number | null; out: string; err: string }>((resolve) =>
        child.on('close', (code) => resolve({ code, out, err })),
      );
      return { ready, done };
    });
    await Promise.all(children.map((c) => c.ready));
    writeFileSync(go, '');
    const results = await Promise.all(children.map((c) => c.done));
    for (const r of results) expect(r.code, r.err).toBe(0);
    const uids = results.map((r) => (JSON.parse(r.out.split('\n')[1]!) as { uid: number }).uid);
    expect(new Set(uids).size).toBe(n);
    expect([...uids].sort()).toEqual(Array.from({ length: n }, (_, i) => 61000 + i));
  }, 30_000);
});

describe('agent_uids in sac db', () => {
  it('is exported only on request and round-trips', () => {
    agentUid(store, req('a'));
    expect(exportDb(store).tables).not.toHaveProperty('agent_uids');
    const envelope = exportDb(store, { tables: ['agent_uids'] });
    expect(envelope.tables.agent_uids).toHaveLength(1);
    const target = openStore({
      env: { SAC_HOME: mkdtempSync(join(home, 'b-')) },
      host: 'test-host',
    });
    stores.push(target);
    expect(importDb(target, envelope).tables.agent_uids).toEqual({ inserted: 1, skipped: 0 });
    expect(listAgentUids(target)).toEqual(listAgentUids(store));
  });
});

describe('parsing', () => {
  it('parseSpecUser', () => {
    expect(parseSpecUser('')).toBeUndefined();
    expect(parseSpecUser('host')).toBeUndefined();
    expect(parseSpecUser('61234')).toEqual({ uid: 61234, gid: 61234 });
    expect(parseSpecUser('61234:100')).toEqual({ uid: 61234, gid: 100 });
  });

  it('parseIdFile reads the third field of passwd and group lines', () => {
    const passwd =
      'root:x:0:0:root:/root:/bin/bash\n# comment\nbob:x:1000:1000::/home/bob:/bin/sh\nbroken\n';
    expect([...parseIdFile(passwd)]).toEqual([0, 1000]);
    expect([...parseIdFile('sudo:x:27:bob\n')]).toEqual([27]);
  });
});
