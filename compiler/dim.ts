// Symbolic dimensions: integer polynomials over named symbols, with floor division,
// ceiling division, modulo, max and min kept as opaque atoms when they cannot be
// simplified. Canonical forms make structural equality the same as algebraic equality
// for polynomials, which is what the shape checker unifies on.

type AtomKind = "sym" | "floordiv" | "mod" | "max" | "min";

interface Atom {
  readonly kind: AtomKind;
  readonly key: string;
  readonly name?: string;
  readonly args?: readonly Dim[];
}

interface Term {
  readonly coeff: number;
  /** sorted atom keys, repeated for powers */
  readonly factors: readonly string[];
}

const atomTable = new Map<string, Atom>();

function internAtom(atom: Atom): string {
  if (!atomTable.has(atom.key)) atomTable.set(atom.key, atom);
  return atom.key;
}

export class Dim {
  private constructor(readonly terms: readonly Term[]) {}

  static const(n: number): Dim {
    if (!Number.isInteger(n)) throw new Error(`dimension ${n} is not an integer`);
    return n === 0 ? ZERO : new Dim([{ coeff: n, factors: [] }]);
  }

  static sym(name: string): Dim {
    return new Dim([{ coeff: 1, factors: [internAtom({ kind: "sym", key: name, name })] }]);
  }

  private static fromTerms(terms: Term[]): Dim {
    const byKey = new Map<string, Term>();
    for (const t of terms) {
      const key = t.factors.join("*");
      const prev = byKey.get(key);
      byKey.set(key, prev ? { coeff: prev.coeff + t.coeff, factors: t.factors } : t);
    }
    const out = [...byKey.values()].filter((t) => t.coeff !== 0);
    // Higher-degree terms first, then lexicographic: a stable canonical order.
    out.sort((a, b) => b.factors.length - a.factors.length || cmp(a.factors.join("*"), b.factors.join("*")));
    return out.length === 0 ? ZERO : new Dim(out);
  }

  /** The value when the expression has no symbols, else undefined. */
  get constant(): number | undefined {
    if (this.terms.length === 0) return 0;
    if (this.terms.length === 1 && this.terms[0]!.factors.length === 0) return this.terms[0]!.coeff;
    return undefined;
  }

  get isConstant(): boolean {
    return this.constant !== undefined;
  }

  add(o: Dim | number): Dim {
    const d = toDim(o);
    return Dim.fromTerms([...this.terms, ...d.terms]);
  }

  sub(o: Dim | number): Dim {
    return this.add(toDim(o).scale(-1));
  }

  scale(k: number): Dim {
    return Dim.fromTerms(this.terms.map((t) => ({ coeff: t.coeff * k, factors: t.factors })));
  }

  mul(o: Dim | number): Dim {
    const d = toDim(o);
    const out: Term[] = [];
    for (const a of this.terms)
      for (const b of d.terms) out.push({ coeff: a.coeff * b.coeff, factors: [...a.factors, ...b.factors].sort(cmp) });
    return Dim.fromTerms(out);
  }

  /** Floor division. Exact when every coefficient divides, folded when constant. */
  floordiv(o: Dim | number): Dim {
    const d = toDim(o);
    const a = this.constant;
    const b = d.constant;
    if (b === 0) throw new Error("division by zero in a dimension expression");
    if (a !== undefined && b !== undefined) return Dim.const(Math.floor(a / b));
    if (b === 1) return this;
    if (b !== undefined && this.terms.every((t) => t.coeff % b === 0)) return this.scale(1 / b);
    if (d.equals(this)) return Dim.const(1);
    return atomDim("floordiv", [this, d], `(${this}) / (${d})`);
  }

  /** Ceiling division: ceil(a / b) = floor((a + b - 1) / b). */
  ceildiv(o: Dim | number): Dim {
    const d = toDim(o);
    return this.add(d).sub(1).floordiv(d);
  }

  mod(o: Dim | number): Dim {
    const d = toDim(o);
    const a = this.constant;
    const b = d.constant;
    if (b === 0) throw new Error("modulo by zero in a dimension expression");
    if (a !== undefined && b !== undefined) return Dim.const(((a % b) + b) % b);
    if (b !== undefined && this.terms.every((t) => t.coeff % b === 0)) return ZERO;
    return atomDim("mod", [this, d], `(${this}) % (${d})`);
  }

  max(o: Dim | number): Dim {
    const d = toDim(o);
    const a = this.constant;
    const b = d.constant;
    if (a !== undefined && b !== undefined) return Dim.const(Math.max(a, b));
    if (d.equals(this)) return this;
    return atomDim("max", sortPair(this, d), `max(${sortPair(this, d).join(", ")})`);
  }

  min(o: Dim | number): Dim {
    const d = toDim(o);
    const a = this.constant;
    const b = d.constant;
    if (a !== undefined && b !== undefined) return Dim.const(Math.min(a, b));
    if (d.equals(this)) return this;
    return atomDim("min", sortPair(this, d), `min(${sortPair(this, d).join(", ")})`);
  }

  equals(o: Dim | number): boolean {
    return this.toString() === toDim(o).toString();
  }

  /** Names of all symbols the expression mentions. */
  symbols(): Set<string> {
    const out = new Set<string>();
    const visit = (d: Dim): void => {
      for (const t of d.terms)
        for (const f of t.factors) {
          const atom = atomTable.get(f)!;
          if (atom.kind === "sym") out.add(atom.name!);
          else atom.args!.forEach(visit);
        }
    };
    visit(this);
    return out;
  }

  /** Replace symbols by expressions (missing symbols stay symbolic). */
  substitute(env: ReadonlyMap<string, Dim>): Dim {
    if (env.size === 0) return this;
    let out = ZERO;
    for (const t of this.terms) {
      let term = Dim.const(t.coeff);
      for (const f of t.factors) term = term.mul(substituteAtom(atomTable.get(f)!, env));
      out = out.add(term);
    }
    return out;
  }

  /** Numeric value under a binding of symbols; undefined when a symbol is unbound. */
  evaluate(env: ReadonlyMap<string, number> | ((name: string) => number | undefined)): number | undefined {
    const lookup = typeof env === "function" ? env : (n: string) => env.get(n);
    let total = 0;
    for (const t of this.terms) {
      let v = t.coeff;
      for (const f of t.factors) {
        const x = evaluateAtom(atomTable.get(f)!, lookup);
        if (x === undefined) return undefined;
        v *= x;
      }
      total += v;
    }
    return total;
  }

  /**
   * If the expression is linear in exactly one symbol (a*s + b), the value of that symbol
   * that makes it equal to `target`; used to bind dims from ascriptions like [H * 2].
   */
  solveFor(target: number): { symbol: string; value: number } | undefined {
    let coeff = 0;
    let offset = 0;
    let symbol: string | undefined;
    for (const t of this.terms) {
      if (t.factors.length === 0) offset += t.coeff;
      else if (t.factors.length === 1 && atomTable.get(t.factors[0]!)!.kind === "sym") {
        const name = atomTable.get(t.factors[0]!)!.name!;
        if (symbol !== undefined && symbol !== name) return undefined;
        symbol = name;
        coeff += t.coeff;
      } else return undefined;
    }
    if (symbol === undefined || coeff === 0) return undefined;
    const value = (target - offset) / coeff;
    return Number.isInteger(value) ? { symbol, value } : undefined;
  }

  toString(): string {
    if (this.terms.length === 0) return "0";
    let s = "";
    this.terms.forEach((t, i) => {
      const neg = t.coeff < 0;
      const mag = Math.abs(t.coeff);
      const factors = groupPowers(t.factors);
      const body = factors.length === 0 ? String(mag) : mag === 1 ? factors.join("*") : `${mag}*${factors.join("*")}`;
      s += i === 0 ? (neg ? `-${body}` : body) : neg ? ` - ${body}` : ` + ${body}`;
    });
    return s;
  }

  /**
   * The expression in another language (code generators): `spell.symbol` names a symbol,
   * `spell.op` writes floordiv / mod / max / min of two sub-expressions. Anything but a single
   * name or number is parenthesised, so the result can stand as an operand.
   */
  render(spell: DimSpelling): string {
    if (this.terms.length === 0) return "0";
    const parts = this.terms.map((t) => {
      const factors = t.factors.map((f) => {
        const atom = atomTable.get(f)!;
        return atom.kind === "sym"
          ? spell.symbol(atom.name!)
          : spell.op(atom.kind, atom.args![0]!.render(spell), atom.args![1]!.render(spell));
      });
      const mag = Math.abs(t.coeff);
      return { neg: t.coeff < 0, body: factors.length === 0 ? String(mag) : [...(mag === 1 ? [] : [String(mag)]), ...factors].join(" * ") };
    });
    const text = parts.map((p, i) => (i === 0 ? `${p.neg ? "-" : ""}${p.body}` : `${p.neg ? " - " : " + "}${p.body}`)).join("");
    return /^[\w.]+$/.test(text) ? text : `(${text})`;
  }
}

/** How `Dim.render` writes symbols and the non-polynomial operations. */
export interface DimSpelling {
  symbol(name: string): string;
  op(kind: "floordiv" | "mod" | "max" | "min", a: string, b: string): string;
}

const ZERO: Dim = Object.freeze(Object.create(Dim.prototype, { terms: { value: [] } })) as Dim;

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function sortPair(a: Dim, b: Dim): Dim[] {
  return cmp(a.toString(), b.toString()) <= 0 ? [a, b] : [b, a];
}

function groupPowers(factors: readonly string[]): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < factors.length) {
    let j = i;
    while (j < factors.length && factors[j] === factors[i]) j++;
    const name = atomTable.get(factors[i]!)!.kind === "sym" ? factors[i]! : `[${factors[i]}]`;
    out.push(j - i === 1 ? name : `${name}^${j - i}`);
    i = j;
  }
  return out;
}

function atomDim(kind: AtomKind, args: Dim[], key: string): Dim {
  const k = internAtom({ kind, key, args });
  return (Dim as unknown as { fromTerms(t: Term[]): Dim }).fromTerms([{ coeff: 1, factors: [k] }]);
}

function substituteAtom(atom: Atom, env: ReadonlyMap<string, Dim>): Dim {
  switch (atom.kind) {
    case "sym":
      return env.get(atom.name!) ?? Dim.sym(atom.name!);
    case "floordiv":
      return atom.args![0]!.substitute(env).floordiv(atom.args![1]!.substitute(env));
    case "mod":
      return atom.args![0]!.substitute(env).mod(atom.args![1]!.substitute(env));
    case "max":
      return atom.args![0]!.substitute(env).max(atom.args![1]!.substitute(env));
    case "min":
      return atom.args![0]!.substitute(env).min(atom.args![1]!.substitute(env));
  }
}

function evaluateAtom(atom: Atom, lookup: (name: string) => number | undefined): number | undefined {
  if (atom.kind === "sym") return lookup(atom.name!);
  const a = atom.args![0]!.evaluate(lookup);
  const b = atom.args![1]!.evaluate(lookup);
  if (a === undefined || b === undefined) return undefined;
  switch (atom.kind) {
    case "floordiv":
      return b === 0 ? undefined : Math.floor(a / b);
    case "mod":
      return b === 0 ? undefined : ((a % b) + b) % b;
    case "max":
      return Math.max(a, b);
    case "min":
      return Math.min(a, b);
  }
}

export function toDim(x: Dim | number): Dim {
  return typeof x === "number" ? Dim.const(x) : x;
}

export type Shape = readonly Dim[];

export function shapeToString(shape: Shape): string {
  return `[${shape.map(String).join(", ")}]`;
}

export function shapesEqual(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d.equals(b[i]!));
}

/** Number of elements, symbolic. */
export function numel(shape: Shape): Dim {
  return shape.reduce<Dim>((acc, d) => acc.mul(d), Dim.const(1));
}

export function dims(...xs: (Dim | number)[]): Dim[] {
  return xs.map(toDim);
}
