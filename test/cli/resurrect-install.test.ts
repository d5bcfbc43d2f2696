/** `sac agents resurrect --install`: the boot-time unit and cron line, written under a temp HOME. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runSac, testEnv } from '../helpers.ts';

describe('sac agents resurrect --install', () => {
  it('writes a systemd user unit that runs resurrect with this SAC_HOME', async () => {
    const env = testEnv();
    const r = await runSac(['agents', 'resurrect', '--install', 'systemd'], { env });
    expect(r.code, r.stderr).toBe(0);
    const unit = readFileSync(
      join(env.HOME!, '.config/systemd/user/sac-resurrect.service'),
      'utf8',
    );
    expect(unit).toContain(`Environment=SAC_HOME=${env.SAC_HOME}`);
    expect(unit).toMatch(/ExecStart=\S+node\S* \S+bin\/sac\.js agents resurrect/);
    expect(r.stdout).toMatch(/systemctl --user enable sac-resurrect\.service/);
  });

  it('prints the @reboot cron line', async () => {
    const env = testEnv();
    const r = await runSac(['agents', 'resurrect', '--install', 'cron', '--print'], { env });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^@reboot SAC_HOME=\S+ \S+ \S+bin\/sac\.js agents resurrect # sac-resurrect$/m,
    );
  });

  it('has nothing to resurrect when no supervisor died', async () => {
    const r = await runSac(['--json', 'agents', 'resurrect']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ agents: [] });
  });
});
