import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { readMessagesTable, renderMessagesModule } from "../../../compiler/diagnostics/generate.js";

describe("diagnostic message table", () => {
  it("has unique codes and the generated module is up to date", () => {
    const generated = renderMessagesModule(readMessagesTable());
    const committed = readFileSync(new URL("../../../compiler/diagnostics/messages.ts", import.meta.url), "utf8");
    expect(committed).toBe(generated);
  });

  it("refuses duplicate codes", () => {
    expect(() =>
      renderMessagesModule({
        A: { code: "DLM1001", category: "error", message: "a" },
        B: { code: "DLM1001", category: "error", message: "b" },
      }),
    ).toThrow(/duplicate/);
  });

  it("keeps codes in their ranges by stage", () => {
    for (const [key, e] of Object.entries(readMessagesTable())) expect(e.code, key).toMatch(/^DLM[1-59]\d{3}$/);
  });
});
