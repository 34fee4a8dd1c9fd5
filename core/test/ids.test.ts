import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_USER_ID_LENGTH, userIdProblem } from '../src/ids.ts';

const EMOJI = '\u{1F600}'; // one character, two UTF-16 code units

function isControl(codePoint: number): boolean {
  return codePoint <= 0x1f || (codePoint >= 0x7f && codePoint <= 0x9f);
}

describe('userIdProblem', () => {
  it.each(['user-123', 'u', 'ユーザー42', `${EMOJI}user`, 'a b', 'x'.repeat(255)])('%j is valid', (id) => {
    expect(userIdProblem(id)).toBeNull();
  });

  it('rejects the empty id', () => {
    expect(userIdProblem('')).toBe('is empty');
  });

  it('allows 255 characters and rejects 256', () => {
    expect(MAX_USER_ID_LENGTH).toBe(255);
    expect(userIdProblem('a'.repeat(255))).toBeNull();
    expect(userIdProblem('a'.repeat(256))).toBe('is 256 characters long (at most 255)');
  });

  it('counts characters (code points), not UTF-16 code units', () => {
    expect(EMOJI.repeat(255).length).toBe(510);
    expect(userIdProblem(EMOJI.repeat(255))).toBeNull();
    expect(userIdProblem(EMOJI.repeat(256))).toBe('is 256 characters long (at most 255)');
    expect(userIdProblem(`${EMOJI.repeat(200)}${'a'.repeat(56)}`)).toBe(
      'is 256 characters long (at most 255)',
    );
  });

  it.each([
    ['NUL', '\u0000'],
    ['unit separator', '\u001f'],
    ['DEL', '\u007f'],
    ['NEL (C1)', '\u0085'],
    ['last C1', '\u009f'],
    ['newline', '\n'],
    ['tab', '\t'],
  ])('rejects a %s anywhere in the id', (_, control) => {
    for (const id of [control, `user${control}`, `${control}user`, `us${control}er`]) {
      expect(userIdProblem(id)).toBe('contains control characters');
    }
  });

  it('accepts the characters just outside the control ranges', () => {
    expect(userIdProblem('\u0020')).toBeNull();
    expect(userIdProblem('~\u00a0')).toBeNull();
  });

  it.each([
    ['lone high surrogate at the end', 'user\ud83d'],
    ['lone high surrogate before a letter', '\ud83dx'],
    ['lone low surrogate', 'user\ude00'],
    ['reversed pair', '\ude00\ud83d'],
  ])('rejects a %s as invalid Unicode', (_, id) => {
    expect(userIdProblem(id)).toBe('is not valid Unicode');
  });

  it('agrees with a code-point count for any well-formed id without control characters', () => {
    const char = fc
      .oneof(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }), fc.constant(EMOJI))
      .filter((c) => [...c].every((ch) => !isControl(ch.codePointAt(0)!)));
    fc.assert(
      fc.property(fc.array(char, { minLength: 1, maxLength: 300 }), (chars) => {
        const id = chars.join('');
        const length = [...id].length;
        expect(userIdProblem(id)).toBe(length > 255 ? `is ${length} characters long (at most 255)` : null);
      }),
    );
  });
});
