// Syntax colouring for .dlm in CodeMirror, from the language's own lexer (grammar/tokens.ts):
// the editor colours exactly the tokens the parser sees, with the classes of the TextMate
// grammar's scopes (keywords, dtypes, calls, numbers, strings, comments, annotations).

import { RangeSetBuilder, type Extension } from "@codemirror/state";
import { Decoration, EditorView, ViewPlugin, type DecorationSet, type ViewUpdate } from "@codemirror/view";
import type { IToken, TokenType } from "chevrotain";
import { DTYPES } from "../../compiler/ops/types.js";
import * as T from "../../grammar/tokens.js";

type TokenClass = "keyword" | "dtype" | "call" | "type-name" | "number" | "string" | "comment" | "annotation" | "operator" | "invalid";

const KEYWORDS = new Set<TokenType>(T.keywordTokens);
const DTYPE_NAMES = new Set<string>(DTYPES);
const OPERATORS = new Set<TokenType>([T.Pipe, T.DotDot, T.StarStar, T.Plus, T.Minus, T.Star, T.Slash, T.Percent, T.MatMul, T.Eq]);
const COMMENTS = new Set<TokenType>([T.LineComment, T.DocComment, T.BlockComment]);

function classify(tok: IToken, next: IToken | undefined): TokenClass | undefined {
  const type = tok.tokenType;
  if (KEYWORDS.has(type)) return "keyword";
  if (COMMENTS.has(type)) return "comment";
  if (OPERATORS.has(type)) return "operator";
  if (type === T.StringLiteral) return "string";
  if (type === T.NumberLiteral) return "number";
  if (type === T.Annotation) return "annotation";
  if (type === T.Garbage) return "invalid";
  if (type !== T.Identifier) return undefined;
  if (DTYPE_NAMES.has(tok.image)) return "dtype";
  if (next?.tokenType === T.LParen) return "call";
  // models and blocks are capitalised by convention; this colours their uses too
  return /^[A-Z]/.test(tok.image) ? "type-name" : undefined;
}

const marks = new Map<TokenClass, Decoration>();
function mark(c: TokenClass): Decoration {
  let m = marks.get(c);
  if (!m) marks.set(c, (m = Decoration.mark({ class: `dlm-${c}` })));
  return m;
}

/** Decorations for every token of `text`, in document order. */
export function highlightTokens(text: string): { from: number; to: number; cls: TokenClass }[] {
  const lexed = T.dlmLexer.tokenize(text);
  const code = lexed.tokens;
  const out: { from: number; to: number; cls: TokenClass }[] = [];
  code.forEach((tok, i) => {
    const cls = classify(tok, code[i + 1]);
    if (cls) out.push({ from: tok.startOffset, to: tok.startOffset + tok.image.length, cls });
  });
  for (const group of Object.values(lexed.groups))
    for (const tok of group) {
      const cls = classify(tok, undefined);
      if (cls) out.push({ from: tok.startOffset, to: tok.startOffset + tok.image.length, cls });
    }
  return out.sort((a, b) => a.from - b.from);
}

function decorate(view: EditorView): DecorationSet {
  const builder = new RangeSetBuilder<Decoration>();
  for (const t of highlightTokens(view.state.doc.toString())) if (t.to > t.from) builder.add(t.from, t.to, mark(t.cls));
  return builder.finish();
}

/** The editor extension: re-lexes the document on every change (cheap at playground sizes). */
export function dlmHighlighting(): Extension {
  return ViewPlugin.fromClass(
    class {
      decorations: DecorationSet;
      constructor(view: EditorView) {
        this.decorations = decorate(view);
      }
      update(u: ViewUpdate): void {
        if (u.docChanged) this.decorations = decorate(u.view);
      }
    },
    { decorations: (v) => v.decorations },
  );
}
