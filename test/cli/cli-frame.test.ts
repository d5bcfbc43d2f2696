import { readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { REPO, runSac, testEnv } from '../helpers.ts';

const pkg = JSON.parse(readFileSync(`${REPO}/package.json`, 'utf8')) as { version: string };

describe('the sac command frame', () => {
  it('prints help and the version', async () => {
    const help = await runSac(['--help']);
    expect(help.code).toBe(0);
    for (const cmd of ['agents', 'db', 'completion']) expect(help.stdout).toContain(cmd);
    const version = await runSac(['--version']);
    expect(version).toMatchObject({ code: 0, stdout: `${pkg.version}\n` });
  });

  it('prints every command with --help-recursive', async () => {
    const r = await runSac(['--help-recursive']);
    expect(r.code).toBe(0);
    for (const path of [
      'sac agents check',
      'sac agents explain',
      'sac agents new',
      'sac agents find',
      'sac agents list',
      'sac db export',
      'sac db import',
      'sac db query',
      'sac completion',
    ]) {
      expect(r.stdout).toContain(`======== ${path}\n`);
    }
  });

  it('turns usage errors into exit 2 with a code, never a stack trace', async () => {
    const r = await runSac(['agents', 'frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error\[USAGE\]: /);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const opt = await runSac(['agents', 'list', '--no-such-flag']);
    expect(opt.code).toBe(2);
  });

  it('prints errors as a JSON envelope with --json', async () => {
    const r = await runSac(['--json', 'agents', 'explain', 'nobody']);
    expect(r.code).toBe(4);
    const body = JSON.parse(r.stdout) as { error: { code: string; message: string; hint: string } };
    expect(body.error.code).toBe('AGENT_NOT_FOUND');
    expect(body.error.hint).toMatch(/sac agents new nobody/);
  });

  it('generates shell completion that the shell accepts', async () => {
    for (const shell of ['bash', 'zsh']) {
      const r = await runSac(['completion', shell]);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('agents');
      if (shell === 'bash') {
        const syntax = await new Promise<number | null>((resolve) => {
          const b = spawn('bash', ['-n'], { stdio: ['pipe', 'ignore', 'inherit'] });
          b.on('close', resolve);
          b.stdin.end(r.stdout);
        });
        expect(syntax).toBe(0);
      }
    }
    expect((await runSac(['completion', 'fish'])).code).toBe(2);
  });

  it('completes agent names through the generated bash script', async () => {
    const env = testEnv();
    await runSac(['agents', 'new', 'compl-one'], { env });
    const script = (await runSac(['completion', 'bash'], { env })).stdout;
    const out = await new Promise<string>((resolve) => {
      let text = '';
      const b = spawn(
        'bash',
        [
          '-c',
          `sac() { node ${REPO}/bin/sac.js "$@"; }; ${script}\nCOMP_WORDS=(sac agents check co); COMP_CWORD=3; _sac_complete; echo "\${COMPREPLY[@]}"`,
        ],
        { env, stdio: ['ignore', 'pipe', 'inherit'] },
      );
      b.stdout.on('data', (d: Buffer) => (text += d.toString()));
      b.on('close', () => resolve(text));
    });
    expect(out.trim()).toBe('compl-one');
  });
});
