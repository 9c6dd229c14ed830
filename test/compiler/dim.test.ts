import { describe, expect, it } from "vitest";
import { Dim } from "../../compiler/dim.js";

const B = Dim.sym("B");
const H = Dim.sym("H");

describe("symbolic dims", () => {
  it("canonicalises polynomials so equal expressions compare equal", () => {
    expect(B.mul(3).add(B).equals(B.mul(4))).toBe(true);
    expect(B.mul(H).equals(H.mul(B))).toBe(true);
    expect(B.add(1).sub(1).equals(B)).toBe(true);
    expect(B.sub(B).constant).toBe(0);
  });

  it("folds constants and divides exactly when every coefficient divides", () => {
    expect(Dim.const(7).floordiv(2).constant).toBe(3);
    expect(Dim.const(-7).floordiv(2).constant).toBe(-4);
    expect(B.mul(16).floordiv(4).equals(B.mul(4))).toBe(true);
    expect(B.floordiv(2).toString()).toBe("[(B) / (2)]");
    expect(B.floordiv(B).constant).toBe(1);
  });

  it("implements the conv output rule floor((W - K + 2P) / S) + 1", () => {
    const out = (w: Dim | number, k: number, p: number, s: number) =>
      Dim.const(0)
        .add(w)
        .sub(k)
        .add(2 * p)
        .floordiv(s)
        .add(1);
    expect(out(32, 5, 0, 1).constant).toBe(28);
    expect(out(32, 3, 1, 2).constant).toBe(16);
    const sym = out(H, 3, 1, 2);
    expect(sym.evaluate(new Map([["H", 224]]))).toBe(112);
    expect(sym.substitute(new Map([["H", Dim.const(32)]])).constant).toBe(16);
  });

  it("evaluates, substitutes and reports symbols", () => {
    const e = B.mul(H).add(H.mul(2));
    expect(
      e.evaluate(
        new Map([
          ["B", 3],
          ["H", 5],
        ]),
      ),
    ).toBe(25);
    expect(e.evaluate(new Map([["B", 3]]))).toBeUndefined();
    expect([...e.symbols()].sort()).toEqual(["B", "H"]);
    expect(e.substitute(new Map([["B", Dim.const(2)]])).equals(H.mul(4))).toBe(true);
  });

  it("solves linear equations in one symbol", () => {
    expect(H.mul(2).add(1).solveFor(29)).toEqual({ symbol: "H", value: 14 });
    expect(H.mul(2).solveFor(29)).toBeUndefined();
    expect(H.mul(B).solveFor(10)).toBeUndefined();
  });

  it("keeps max, min and mod symbolic until they can be decided", () => {
    expect(Dim.const(3).max(5).constant).toBe(5);
    expect(B.max(B).equals(B)).toBe(true);
    expect(B.max(1).evaluate(new Map([["B", 0]]))).toBe(1);
    expect(B.mul(4).mod(2).constant).toBe(0);
    expect(Dim.const(-1).mod(3).constant).toBe(2);
  });

  it("rejects non-integers and division by zero", () => {
    expect(() => Dim.const(1.5)).toThrow();
    expect(() => B.floordiv(0)).toThrow();
  });
});
