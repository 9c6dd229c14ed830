// Sizes in bytes as people write them, shared by `--memory-budget` and `@memory_budget`:
// plain bytes (268435456) or a number with a unit (256MB, 1.5GiB).

const BYTE_UNITS: Readonly<Record<string, number>> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
};

/** What a size may look like, for error messages. */
export const BYTE_SIZE_FORMS = "a size in bytes such as 268435456, 256MB or 1.5GiB (units B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)";

/** Bytes of `text` (KB/MB/GB/TB are powers of 1000, KiB/MiB/GiB/TiB of 1024), or undefined when it is not a positive whole number of bytes. */
export function byteSize(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim());
  const unit = m ? BYTE_UNITS[(m[2] || "b").toLowerCase()] : undefined;
  // a fraction of a unit is fine (1.5GiB), a fraction of a byte is not
  const bytes = m && unit !== undefined && (unit > 1 || !m[1]!.includes(".")) ? Math.round(Number(m[1]) * unit) : NaN;
  return bytes >= 1 && Number.isSafeInteger(bytes) ? bytes : undefined;
}
