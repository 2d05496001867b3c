// Pure rules for event type names: their shape, and which names belong to Tern itself. No framework imports.

/** The types seeded by the first migration; the operator can neither create, edit nor archive them. */
export const RESERVED_EVENT_TYPES: readonly string[] = [
  'tern.delivery.failed',
  'tern.endpoint.disabled',
  'webhook.test',
];

export const EVENT_TYPE_NAME = /^[a-zA-Z0-9_-]+(\.[a-zA-Z0-9_-]+)*$/;
export const EVENT_TYPE_NAME_MAX_LENGTH = 128;

/** True for the names Tern keeps for itself: the reserved types and the whole `tern.` namespace. */
export function isReservedEventTypeName(name: string): boolean {
  return RESERVED_EVENT_TYPES.includes(name) || name.toLowerCase().startsWith('tern.');
}

/** Why `name` cannot name an operator-defined event type, or null when it can. */
export function eventTypeNameProblem(name: unknown): string | null {
  if (typeof name !== 'string' || name.length === 0) return 'must be a non-empty string';
  if (name.length > EVENT_TYPE_NAME_MAX_LENGTH)
    return `must be at most ${EVENT_TYPE_NAME_MAX_LENGTH} characters`;
  if (!EVENT_TYPE_NAME.test(name))
    return 'must be dot-separated segments of letters, digits, "_" and "-" (like order.completed)';
  if (isReservedEventTypeName(name)) return 'is reserved for Tern';
  return null;
}
