// How deep a JSON body nests, read off its bytes before it is parsed.

/**
 * How deep a JSON body may nest (arrays and objects alike). Deeper ones are refused (400) before
 * they are parsed: the validation pipe and class-transformer walk a body recursively, and a few
 * thousand levels (a 10 KB body) ran them out of stack, a 500.
 */
export const MAX_JSON_DEPTH = 128;

/** Whether JSON text nests arrays and objects deeper than `limit` (brackets in strings aside). */
export function jsonDeeperThan(bytes: Uint8Array, limit: number): boolean {
  let depth = 0;
  let inString = false;
  // UTF-8: no byte of a multi-byte character is below 0x80, so quotes and brackets are what they
  // seem.
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i];
    if (inString) {
      // A backslash escapes the next byte.
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}
