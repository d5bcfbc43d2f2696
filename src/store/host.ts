/**
 * Facts about this host that launch rows are keyed by.
 * @module
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

/** Recorded when the boot cannot be identified; never equal to a real boot id. */
export const UNKNOWN_BOOT = 'unknown';

/**
 * The kernel's per-boot uuid. It changes on every reboot, so a launch row carrying an older one is
 * from a previous boot and cannot be running, whatever its pid says (pids are reused). Outside Linux
 * there is no such file: we return {@link UNKNOWN_BOOT} and callers must not sweep on it.
 */
export function currentBootId(file = '/proc/sys/kernel/random/boot_id'): string {
  try {
    const id = readFileSync(file, 'utf8').trim();
    return id === '' ? UNKNOWN_BOOT : id;
  } catch {
    return UNKNOWN_BOOT;
  }
}

export function hostName(): string {
  return hostname();
}

/** Now as UTC RFC 3339 with milliseconds and `Z`: the one timestamp format of state.db. */
export function nowIso(): string {
  return new Date().toISOString();
}

/** The operator's uid (0 where the platform has none, i.e. Windows, which sac does not support). */
export function currentUid(): number {
  return process.getuid?.() ?? 0;
}
