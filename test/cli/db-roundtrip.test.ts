/**
 * Acceptance: `sac db export` then `sac db import` into a fresh SAC_HOME reproduces the same rows,
 * for every table, through the real CLI.
 */
import { cpSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/db.ts';
import { appendEvent } from '../../src/store/repos/events.ts';
import { insertLaunch, setLaunchState } from '../../src/store/repos/launches.ts';
import { enqueueTurn, finishTurn, markTurnRunning } from '../../src/store/repos/turns.ts';
import { REPO, runSac, testEnv } from '../helpers.ts';

const TABLES = [
  'definitions',
  'launches',
  'turns',
  'events',
  'a2a_ports',
  'lineage',
  'grants',
  'blocks',
];

async function rows(env: Record<string, string>, table: string): Promise<unknown[]> {
  const r = await runSac(['--json', 'db', 'query', table, '--limit', '1000'], { env });
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { rows: unknown[] }).rows;
}

describe('sac db export | import', () => {
  it('reproduces every row of every table in a fresh SAC_HOME', async () => {
    const a = testEnv();
    // definitions come from a real list; the rest from the store's own repositories
    for (const name of ['hello-bwrap', 'minimal-agent']) {
      mkdirSync(join(a.SAC_HOME!, 'agents', name), { recursive: true });
      cpSync(
        join(REPO, 'examples/agents', name, 'spec.yaml'),
        join(a.SAC_HOME!, 'agents', name, 'spec.yaml'),
      );
    }
    expect((await runSac(['agents', 'list'], { env: a })).code).toBe(0);
    const store = openStore({ env: a });
    try {
      const launch = insertLaunch(store, {
        name: 'hello-bwrap',
        scope: 'user',
        spec_path: '/x/spec.yaml',
        spec_sha256: 'a'.repeat(64),
        runtime: 'bwrap',
        sac_version: '0.1.0',
        model: 'haiku',
      });
      setLaunchState(store, launch.id, 'running');
      setLaunchState(store, launch.id, 'stopped', { exit_reason: 'operator-stop' });
      const turn = enqueueTurn(store, { name: 'hello-bwrap', text: 'What is 2+2?', caller: 'cli' });
      markTurnRunning(store, turn.id, { launch_id: launch.id });
      finishTurn(store, turn.id, {
        state: 'done',
        reply: '4',
        usage: { input_tokens: 10, output_tokens: 1 },
      });
      enqueueTurn(store, { name: 'hello-bwrap', text: 'still queued' });
      appendEvent(store, {
        kind: 'start',
        name: 'hello-bwrap',
        launch_id: launch.id,
        actor: 'sac',
        payload: { pid: 1 },
      });
      appendEvent(store, {
        kind: 'stop',
        name: 'hello-bwrap',
        launch_id: launch.id,
        actor: 'operator',
      });
      store.db
        .prepare(
          "INSERT INTO a2a_ports VALUES (19000, 'hello-bwrap', 0, '2026-11-29T00:00:00.000Z')",
        )
        .run();
      store.db
        .prepare(
          "INSERT INTO lineage VALUES ('child-a', 'hello-bwrap', '2026-11-29T00:00:00.000Z')",
        )
        .run();
      store.db
        .prepare("INSERT INTO grants VALUES ('a', 'b', 'note', '2026-11-29T00:00:00.000Z')")
        .run();
      store.db.prepare("INSERT INTO blocks VALUES ('c', 'd', '2026-11-29T00:00:00.000Z')").run();
    } finally {
      store.close();
    }

    const exported = await runSac(['db', 'export', '--tables', TABLES.join(',')], { env: a });
    expect(exported.code, exported.stderr).toBe(0);

    const b = testEnv();
    const imported = await runSac(['--json', 'db', 'import', '-'], {
      env: b,
      input: exported.stdout,
    });
    expect(imported.code, imported.stderr).toBe(0);
    for (const table of TABLES) {
      const before = await rows(a, table);
      expect(before.length, table).toBeGreaterThan(0);
      expect(await rows(b, table), table).toEqual(before);
    }

    // importing the same export again changes nothing
    const again = await runSac(['--json', 'db', 'import', '-'], { env: b, input: exported.stdout });
    const counts = (JSON.parse(again.stdout) as { tables: Record<string, { inserted: number }> })
      .tables;
    expect(Object.values(counts).every((c) => c.inserted === 0)).toBe(true);
  });
});
