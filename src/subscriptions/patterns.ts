// TEMP stub until the endpoints branch lands.
export function patternsFor(type: string): string[] {
  const parts = type.split('.');
  const out = [type];
  for (let i = parts.length - 1; i > 0; i--) out.push(parts.slice(0, i).join('.') + '.*');
  out.push('*');
  return out;
}
