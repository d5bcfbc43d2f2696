/**
 * The Claude Code binary sac runs: the one shipped inside the pinned Agent SDK's platform package
 * (`@anthropic-ai/claude-agent-sdk-<platform>-<arch>`), so sac and the SDK never disagree on version.
 * @module
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** The platform package name for this machine, e.g. `@anthropic-ai/claude-agent-sdk-linux-x64`. */
export function sdkPlatformPackage(platform = process.platform, arch = process.arch): string {
  return `@anthropic-ai/claude-agent-sdk-${platform}-${arch}`;
}

/** Absolute path of the bundled `claude` binary, or undefined when it is not installed. */
export function claudeBinaryPath(): string | undefined {
  try {
    const require = createRequire(import.meta.url);
    const pkg = require.resolve(`${sdkPlatformPackage()}/package.json`);
    const bin = join(dirname(pkg), process.platform === 'win32' ? 'claude.exe' : 'claude');
    return existsSync(bin) ? bin : undefined;
  } catch {
    return undefined;
  }
}
