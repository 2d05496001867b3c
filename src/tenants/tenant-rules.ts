// Pure rules for tenant input: how large a tenant's metadata may be. No framework imports.

export const METADATA_MAX_BYTES = 16 * 1024;
export const METADATA_MAX_KEYS = 50;
export const METADATA_KEY_MAX_LENGTH = 64;
export const TENANT_NAME_MAX_LENGTH = 256;

/** Why `value` is not acceptable tenant metadata, or null when it is. */
export function metadataProblem(value: unknown): string | null {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    return 'must be a JSON object';
  const keys = Object.keys(value);
  if (keys.length > METADATA_MAX_KEYS) return `must have at most ${METADATA_MAX_KEYS} keys`;
  for (const key of keys) {
    if (key.length === 0 || key.length > METADATA_KEY_MAX_LENGTH)
      return `keys must be 1 to ${METADATA_KEY_MAX_LENGTH} characters long`;
  }
  if (Buffer.byteLength(JSON.stringify(value), 'utf8') > METADATA_MAX_BYTES)
    return `must be at most ${METADATA_MAX_BYTES} bytes as JSON`;
  return null;
}
