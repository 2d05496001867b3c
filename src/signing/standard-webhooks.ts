// TEMP stub until the signing branch lands.
import { createHmac } from 'node:crypto';
export function sign(secret: string, msgId: string, ts: number, body: string): string {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  return 'v1,' + createHmac('sha256', key).update(`${msgId}.${ts}.${body}`).digest('base64');
}
export function signatureHeader(
  secrets: string[],
  msgId: string,
  ts: number,
  body: string,
): string {
  return secrets.map((s) => sign(s, msgId, ts, body)).join(' ');
}
export function generateSecret(): string {
  return 'whsec_' + require('node:crypto').randomBytes(32).toString('base64');
}
