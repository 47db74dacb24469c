/**
 * Text that reaches the timeline, the worker's log, reports and terminals: control characters (ANSI escapes, BEL,
 * C1 such as \u009b, DEL) and the bidirectional overrides and isolates that make a terminal show text in another
 * order than it is (U+202A-U+202E, U+2066-U+2069) become U+FFFD; line breaks and tabs stay. Pure: workflow code,
 * the report writer and the CLI all use this one.
 */
export function printable(s: string): string {
  return s.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, '\ufffd');
}
