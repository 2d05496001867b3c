// TEMP stub until the endpoints branch lands.
export function checkAddress(
  _ip: string,
  _allowed: string[],
): { allowed: true } | { allowed: false; reason: string } {
  return { allowed: true };
}
export function parseHostAsIp(_h: string): string | null {
  return null;
}
