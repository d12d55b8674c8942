/**
 * Text a person typed (names, notes, file names) and text a terminal shows. The characters
 * refused here are the ones that change what is around them rather than showing themselves:
 * C0 and C1 controls and DEL (an ESC in a note retitles a terminal; U+009B is a one-byte CSI in
 * some), line and paragraph separators, and the bidirectional embeddings, overrides and
 * isolates (U+202E turns "sheet‮fdp.exe.pdf" into what reads as "sheetexe.pdf"). The
 * directional marks (U+200E, U+200F, U+061C) stay: they only steer neutral characters, and
 * right-to-left names need them.
 */

/* eslint-disable no-control-regex */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/u;
const CONTROL_BUT_LINES = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u2028\u2029]/u;
const BIDI = /[\u202a-\u202e\u2066-\u2069]/u;
const TERMINAL_UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu;
/* eslint-enable no-control-regex */

/** The longest file name most filesystems take (ext4, APFS, NTFS count 255 bytes or units; bytes is the stricter). */
export const MAX_FILE_NAME_BYTES = 255;
/** The longest path Linux takes, less its terminating NUL. */
export const MAX_PATH_BYTES = 4095;

export const utf8Length = (s: string): number => Buffer.byteLength(s, 'utf8');

/** "U+202E" for a character. */
export const codePoint = (c: string): string => `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;

/**
 * Why `text` cannot be kept as typed, else null. `multiline` (notes) lets tabs and line breaks
 * through. The reason reads after the field's name: "name cannot hold …".
 */
export function whyUnsafeText(text: string, multiline = false): string | null {
  const control = (multiline ? CONTROL_BUT_LINES : CONTROL).exec(text)?.[0];
  if (control !== undefined)
    return `cannot hold control characters (${multiline ? 'escapes' : 'tabs, line breaks, escapes'}): found ${codePoint(control)}`;
  const bidi = BIDI.exec(text)?.[0];
  if (bidi !== undefined)
    return `cannot hold ${codePoint(bidi)}, a character that reorders the text around it (a bidirectional override)`;
  return null;
}

/**
 * Why `name` cannot be a file's name on the machines Plumage runs on, else null: no folders,
 * nothing hidden, none of the characters Windows reserves, no trailing dot or space, and at most
 * MAX_FILE_NAME_BYTES in UTF-8 (a length in characters passes 200 CJK characters: 600 bytes).
 */
export function whyBadFileName(name: string): string | null {
  if (name === '' || name === '.' || name === '..') return `${JSON.stringify(name)} is not a file name`;
  if (/[/\\]/.test(name)) return `a file name cannot hold / or \\ (a path separator): got ${JSON.stringify(name)}`;
  const unsafe = whyUnsafeText(name);
  if (unsafe) return `a file name ${unsafe}`;
  if (/[<>:"|?*]/.test(name)) return `a file name cannot hold any of < > : " | ? * (got ${JSON.stringify(name)})`;
  if (name.startsWith('.'))
    return `a file name cannot start with a dot: it would be hidden (got ${JSON.stringify(name)})`;
  if (/[ .]$/.test(name) || name.trim() !== name)
    return `a file name cannot start or end with a space, or end with a dot (got ${JSON.stringify(name)})`;
  const bytes = utf8Length(name);
  if (bytes > MAX_FILE_NAME_BYTES)
    return (
      `the file name ${JSON.stringify(name.length > 40 ? `${[...name].slice(0, 40).join('')}…` : name)} is ` +
      `${bytes} bytes long; a file name can have at most ${MAX_FILE_NAME_BYTES} (a letter with an accent takes ` +
      `2, a CJK character 3): choose a shorter name`
    );
  return null;
}

/** `s` with every character a terminal would act on shown as an escape (`\e`, `\n`, `\x9b`, `\u202e`). */
export function forTerminal(s: string, keepLines = false): string {
  return s.replace(TERMINAL_UNSAFE, (c) => {
    if (keepLines && (c === '\n' || c === '\t')) return c;
    if (c === '\n') return '\\n';
    if (c === '\t') return '\\t';
    if (c === '\r') return '\\r';
    if (c === '\u001b') return '\\e';
    const n = c.codePointAt(0)!;
    return n <= 0xff ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16).padStart(4, '0')}`;
  });
}

/** JSON.stringify, with what JSON leaves raw and a terminal acts on (DEL, C1, overrides) written as \u escapes. */
export function jsonForTerminal(value: unknown): string {
  return JSON.stringify(value).replace(TERMINAL_UNSAFE, (c) => `\\u${c.codePointAt(0)!.toString(16).padStart(4, '0')}`);
}
