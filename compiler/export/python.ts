// Python source text for the code generators: literals that never carry user text raw
// (strings escaped to printable ASCII), identifiers mangled from user names, and a namer that
// keeps generated names clear of keywords, builtins and the names a generated file defines.

/** Keywords and soft keywords: never usable as names. */
const KEYWORDS = [
  "False",
  "None",
  "True",
  "and",
  "as",
  "assert",
  "async",
  "await",
  "break",
  "case",
  "class",
  "continue",
  "def",
  "del",
  "elif",
  "else",
  "except",
  "finally",
  "for",
  "from",
  "global",
  "if",
  "import",
  "in",
  "is",
  "lambda",
  "match",
  "nonlocal",
  "not",
  "or",
  "pass",
  "raise",
  "return",
  "try",
  "type",
  "while",
  "with",
  "yield",
];

/** Builtins a generated function may call: a local of that name would shadow them. */
const BUILTINS = [
  "abs",
  "all",
  "any",
  "bool",
  "bytearray",
  "bytes",
  "callable",
  "dict",
  "dir",
  "divmod",
  "enumerate",
  "eval",
  "exec",
  "filter",
  "float",
  "format",
  "getattr",
  "globals",
  "hasattr",
  "hash",
  "id",
  "input",
  "int",
  "isinstance",
  "iter",
  "len",
  "list",
  "locals",
  "map",
  "max",
  "min",
  "next",
  "object",
  "open",
  "print",
  "range",
  "repr",
  "reversed",
  "round",
  "set",
  "setattr",
  "slice",
  "sorted",
  "str",
  "sum",
  "super",
  "tuple",
  "vars",
  "zip",
  "Exception",
  "KeyError",
  "RuntimeError",
  "SystemExit",
  "TypeError",
  "ValueError",
];

export const PYTHON_RESERVED: ReadonlySet<string> = new Set([...KEYWORDS, ...BUILTINS]);

/** A keyword or soft keyword (`self.class` would not parse). */
export function isPythonKeyword(name: string): boolean {
  return KEYWORDS.includes(name);
}

/** A Python string literal of `s` in printable ASCII: quotes, backslashes, controls and non-ASCII escaped. */
export function pyString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"' || ch === "\\") out += `\\${ch}`;
    else if (c >= 0x20 && c < 0x7f) out += ch;
    else if (c <= 0xff) out += `\\x${c.toString(16).padStart(2, "0")}`;
    else if (c <= 0xffff) out += `\\u${c.toString(16).padStart(4, "0")}`;
    else out += `\\U${c.toString(16).padStart(8, "0")}`;
  }
  return `${out}"`;
}

/** A number as a Python literal: a float (`1.0`, `float("inf")`) or, with `integer`, an int. */
export function pyNumber(n: number, integer = false): string {
  if (Number.isNaN(n)) return 'float("nan")';
  if (!Number.isFinite(n)) return n > 0 ? 'float("inf")' : '(-float("inf"))';
  if (integer) {
    if (!Number.isSafeInteger(n)) throw new Error(`${n} is not an integer`);
    return String(n);
  }
  if (Object.is(n, -0)) return "-0.0";
  // the shortest round-trip text of the double, which Python parses to the same double
  const s = String(n);
  return /[.eE]/.test(s) ? s : `${s}.0`;
}

/** Comment and docstring text: printable ASCII on one line, no quote or backslash (user text never ends either early). */
export function pyComment(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, "?").replace(/["\\]/g, "'");
}

/**
 * A Python identifier spelling `raw`: characters outside [A-Za-z0-9_] become `_`, and a name
 * that starts with a digit or an underscore (private by convention) gets `prefix` in front.
 */
export function mangle(raw: string, prefix = "v"): string {
  let s = raw.replace(/[^A-Za-z0-9_]/g, "_");
  if (s === "" || /^[0-9_]/.test(s)) s = `${prefix}${s.startsWith("_") ? "" : "_"}${s}`;
  return s;
}

/** Hands out distinct identifiers in one scope, avoiding reserved names. */
export class Namer {
  private readonly taken: Set<string>;

  constructor(reserved: Iterable<string> = []) {
    this.taken = new Set([...PYTHON_RESERVED, ...reserved]);
  }

  /** A fresh identifier close to `raw` (`x`, `x_2`, ...). */
  fresh(raw: string, prefix = "v"): string {
    const base = mangle(raw, prefix);
    let name = base;
    for (let k = 2; this.taken.has(name); k++) name = `${base}_${k}`;
    this.taken.add(name);
    return name;
  }

  /** Take `name` as is, if nobody has it. */
  claim(name: string): boolean {
    if (this.taken.has(name)) return false;
    this.taken.add(name);
    return true;
  }
}
