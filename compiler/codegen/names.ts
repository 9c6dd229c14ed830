// Safe text for generated code. Nothing taken from a .dlm file (names, strings, file paths)
// reaches generated source except through these functions: identifiers are mangled to
// [A-Za-z0-9_] with a fixed prefix, and every original text is written as a string literal
// escaped down to printable ASCII (so no quote, backtick, `${`, `*/`, newline, U+2028 or
// other unicode can end a literal or a comment early).

/** A JavaScript string literal of `s`, double-quoted, printable ASCII only. */
export function jsString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += "\\\\";
    else if (c >= 0x20 && c < 0x7f) out += s[i];
    else if (c === 0x0a) out += "\\n";
    else if (c === 0x0d) out += "\\r";
    else if (c === 0x09) out += "\\t";
    else out += `\\u${c.toString(16).padStart(4, "0")}`;
  }
  return out + '"';
}

/** A numeric literal that reads back as exactly `v` (NaN, infinities and -0 included). */
export function numberLiteral(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "Infinity";
  if (v === -Infinity) return "-Infinity";
  if (Object.is(v, -0)) return "-0";
  return String(v);
}

/**
 * A JavaScript literal for plain data: numbers, booleans, null, strings, arrays and plain
 * objects (keys quoted; `__proto__` as a computed key so that it stays an own property).
 */
export function literal(v: unknown): string {
  if (v === null || v === undefined) return "null";
  if (typeof v === "number") return numberLiteral(v);
  if (typeof v === "boolean") return v ? "true" : "false";
  if (typeof v === "string") return jsString(v);
  if (Array.isArray(v)) return `[${v.map(literal).join(", ")}]`;
  if (ArrayBuffer.isView(v)) return `[${Array.from(v as unknown as ArrayLike<number>, numberLiteral).join(", ")}]`;
  if (typeof v === "object") {
    const parts = Object.keys(v)
      .sort()
      .map((k) => `${k === "__proto__" ? `[${jsString(k)}]` : jsString(k)}: ${literal((v as Record<string, unknown>)[k])}`);
    return `{ ${parts.join(", ")} }`;
  }
  throw new Error(`codegen: cannot write a ${typeof v} as a literal`);
}

/**
 * Identifiers for names taken from a model: `prefix` + the name with every run of characters
 * other than ASCII letters and digits turned into `_`, shortened, and a `_2`, `_3`, ... suffix
 * where that would collide with an identifier handed out before. The prefix (`p_`) keeps
 * mangled names apart from reserved words and from the generator's own identifiers.
 */
export class Mangler {
  private readonly taken = new Set<string>();
  private readonly byName = new Map<string, string>();

  constructor(private readonly prefix: string) {
    if (!/^[A-Za-z][A-Za-z0-9]*_$/.test(prefix)) throw new Error(`codegen: bad identifier prefix '${prefix}'`);
  }

  /** The identifier for `name` (the same one each time it is asked for). */
  id(name: string): string {
    const known = this.byName.get(name);
    if (known !== undefined) return known;
    const stem =
      this.prefix +
      (name
        .replace(/[^A-Za-z0-9]+/g, "_")
        .replace(/^_+|_+$/g, "")
        .slice(0, 60) || "x");
    let id = stem;
    for (let k = 2; this.taken.has(id); k++) id = `${stem}_${k}`;
    this.taken.add(id);
    this.byName.set(name, id);
    return id;
  }
}
