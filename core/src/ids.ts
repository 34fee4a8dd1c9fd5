/**
 * A user id the API can serve: 1 to 255 characters (the seed's VARCHAR(255) counts characters, not bytes),
 * no control characters (C0, DEL, C1), no lone surrogates. Returns a reason, or null when valid.
 */
export const MAX_USER_ID_LENGTH = 255;

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export function userIdProblem(id: string): string | null {
  if (id.length === 0) return 'is empty';
  if (CONTROL.test(id)) return 'contains control characters';
  if (LONE_SURROGATE.test(id)) return 'is not valid Unicode';
  const characters = countCodePoints(id);
  if (characters > MAX_USER_ID_LENGTH)
    return `is ${characters} characters long (at most ${MAX_USER_ID_LENGTH})`;
  return null;
}

function countCodePoints(text: string): number {
  if (text.length <= MAX_USER_ID_LENGTH) return text.length;
  let count = 0;
  for (const _ of text) count++;
  return count;
}
