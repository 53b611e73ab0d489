// URLs a merchant gives the gateway to send shoppers to (return, success and cancel URLs): absolute
// http(s), and nothing the URL parser would quietly drop or a Location header cannot carry.

/** ASCII control characters and whitespace: the URL parser drops tabs and newlines, a header refuses them. */
const UNSAFE = /[\u0000-\u0020\u007f-\u009f]/;

/** Whether `value` is an absolute http(s) URL written without control characters or spaces. */
export function isHttpUrl(value: string): boolean {
  if (UNSAFE.test(value)) return false;
  try {
    const u = new URL(value);
    return u.protocol === "https:" || u.protocol === "http:";
  } catch {
    return false;
  }
}
