// The .dlm concrete-syntax parser (layer 2 of 3: tokens → parser → to-ast).
//
// A pure chevrotain grammar: no actions, one reused instance, error recovery on. The CST
// it builds is turned into the typed AST by to-ast.ts. Typings for the CST (cst.d.ts)
// and railroad diagrams (diagrams.html) are generated from this grammar by generate.ts.
//
// Expressions are parsed *flat*: `expression` is a list of operands separated by binary
// operators, and an operand is a run of prefix operators, an atom and postfix operations.
// Precedence and associativity are applied in to-ast.ts (an explicit-stack
// precedence climb). This keeps the grammar small, the parse fast (far fewer rule
// invocations per token) and the recursion depth proportional to bracket nesting only,
// which parse.ts bounds (DLM1007) before this parser runs. Chains of prefix operators,
// `**` and `else if` are loops, not recursion.

import {
  CstParser,
  type DSLMethodOptsWithErr,
  type IOrAlt,
  type IParserErrorMessageProvider,
  type IRecognitionException,
  type IToken,
  type OrMethodOpts,
  type TokenType,
} from "chevrotain";
import * as T from "./tokens.js";
import type { FileCstNode } from "./cst.js";

/** How the parser names a token type in a message: `')'`, `a name`, `end of file`. */
export function describeTokenType(tokType: TokenType): string {
  switch (tokType.name) {
    case "EOF":
      return "end of file";
    case "Identifier":
      return "a name";
    case "NumberLiteral":
      return "a number";
    case "StringLiteral":
      return "a string";
    case "Annotation":
      return "an annotation";
    case "BinaryOperator":
      return "an operator";
    case "PrefixOperator":
      return "'-', '+' or 'not'";
    case "SoftKeyword":
      return "a name";
    default:
      return tokType.LABEL ?? tokType.name;
  }
}

/** A summary of what a rule expects, when listing its first tokens would be noise. */
const RULE_EXPECTATIONS: Record<string, string> = {
  item: "a declaration ('import', 'const', 'block', 'model' or 'train')",
  statementCore: "a statement",
  trainItem: "a statement or 'phase'",
  atom: "an expression",
  expression: "an expression",
  indexItem: "an index or slice",
  argument: "an argument",
  outputStmt: "a name or an expression",
  name: "a name",
};

function joinAlternatives(items: string[]): string {
  const unique = [...new Set(items)];
  if (unique.length === 0) return "something else";
  if (unique.length === 1) return unique[0]!;
  if (unique.length > 5) return `one of ${unique.slice(0, 5).join(", ")}, ...`;
  return `${unique.slice(0, -1).join(", ")} or ${unique[unique.length - 1]}`;
}

/**
 * Messages are only the *expected* part; parse.ts adds "found ..." from the offending
 * token and builds the DLM1004 diagnostic with its range.
 */
export const dlmErrorMessageProvider: IParserErrorMessageProvider = {
  buildMismatchTokenMessage({ expected, ruleName }) {
    // A repetition that stopped at a token it cannot start reports the token expected
    // after it; say what could have continued the repetition too.
    if (expected.name === "EOF" && ruleName === "file") return RULE_EXPECTATIONS["item"]!;
    if (expected === T.RBrace && ruleName === "statementBlock") return "a statement or '}'";
    if (expected === T.RBrace && ruleName === "trainDecl") return "a statement, 'phase' or '}'";
    return describeTokenType(expected);
  },
  buildNotAllInputParsedMessage() {
    return "end of file";
  },
  buildNoViableAltMessage({ expectedPathsPerAlt, ruleName }) {
    const summary = RULE_EXPECTATIONS[ruleName];
    if (summary) return summary;
    return joinAlternatives(expectedPathsPerAlt.flat().map((path) => describeTokenType(path[0]!)));
  },
  buildEarlyExitMessage({ expectedIterationPaths, ruleName }) {
    const summary = RULE_EXPECTATIONS[ruleName];
    if (summary) return summary;
    return joinAlternatives(expectedIterationPaths.map((path) => describeTokenType(path[0]!)));
  },
};

/** Punctuation the parser may pretend was there (single-token insertion) while recovering. */
const INSERTABLE = new Set<TokenType>([T.RParen, T.RBracket, T.RBrace, T.Comma, T.Colon]);

/** Rule-stack depth (about three rules per bracket level) beyond which no token is inserted in recovery. */
const MAX_RULE_DEPTH_FOR_INSERTION = 90;

/**
 * After this many errors the parser stops and treats the rest of the input as absent:
 * recovering from each error costs a grammar walk, and beyond a few hundred errors
 * nothing useful is left to report (parse.ts shows at most 100 diagnostics anyway).
 */
export const MAX_PARSE_ERRORS = 500;

// Recovery internals of chevrotain's parser that DlmParser extends (see the overrides).
type FollowsFn = (this: CstParser, tokType: TokenType, tokIdxInRule: number) => TokenType[];
type SaveErrorFn = (this: CstParser, error: IRecognitionException) => IRecognitionException;
interface ParserInternals {
  RULE_STACK_IDX: number;
  tokVector: IToken[];
  tokVectorLength: number;
  currIdx: number;
}
const baseMethods = CstParser.prototype as unknown as {
  getFollowsForInRuleRecovery: FollowsFn;
  SAVE_ERROR: SaveErrorFn;
};
const baseFollowsForInRuleRecovery = baseMethods.getFollowsForInRuleRecovery;
const baseSaveError = baseMethods.SAVE_ERROR;

export class DlmParser extends CstParser {
  // Alternatives and option bodies are built on first use and reused: creating these
  // arrays and closures on every rule invocation is the main avoidable cost of a
  // chevrotain parser (its performance guide recommends caching them).
  private readonly alts: Record<string, IOrAlt<unknown>[]> = {};
  private readonly orOpts: Record<string, OrMethodOpts<unknown>> = {};
  private readonly opts: Record<string, DSLMethodOptsWithErr<unknown>> = {};

  constructor() {
    super(T.allTokens, {
      recoveryEnabled: true,
      maxLookahead: 3,
      errorMessageProvider: dlmErrorMessageProvider,
    });
    this.performSelfAnalysis();
  }

  private errorCount = 0;
  /** the offset of the first token left unparsed because of too many errors, if any */
  stoppedAt: number | undefined;

  /** Parses a whole file: the one entry point (it resets the parser for these tokens). */
  parseFile(tokens: IToken[]): FileCstNode {
    this.errorCount = 0;
    this.stoppedAt = undefined;
    this.input = tokens;
    return this.file() as FileCstNode;
  }

  /** Every error passes through here; past MAX_PARSE_ERRORS the rest of the input is dropped. */
  SAVE_ERROR(error: IRecognitionException): IRecognitionException {
    const saved = baseSaveError.call(this, error);
    if (++this.errorCount === MAX_PARSE_ERRORS) this.stopHere();
    return saved;
  }

  /** Makes the parser see the end of the input right after the current token. */
  private stopHere(): void {
    const self = this as unknown as ParserInternals;
    const tokens = self.tokVector;
    const keep = Math.min(self.tokVectorLength, Math.max(0, self.currIdx + 1));
    this.stoppedAt = keep < self.tokVectorLength ? tokens[keep]!.startOffset : undefined;
    // a new vector, ending with the EOF sentinels chevrotain appended to the old one
    const sentinels = tokens.slice(self.tokVectorLength);
    self.tokVector = [...tokens.slice(0, keep), ...sentinels];
    self.tokVectorLength = keep;
    // and the caller's array without them, as chevrotain would leave it
    tokens.length = Math.min(tokens.length, tokens.length - sentinels.length);
  }

  /**
   * The tokens that may follow `tokType` along the current rule stack, which chevrotain
   * computes for single-token insertion by walking the grammar recursively down that
   * stack. Deep inside nested brackets the walk could exhaust the JS stack, so there
   * insertion is simply not attempted (recovery re-syncs instead).
   */
  getFollowsForInRuleRecovery(tokType: TokenType, tokIdxInRule: number): TokenType[] {
    if ((this as unknown as ParserInternals).RULE_STACK_IDX > MAX_RULE_DEPTH_FOR_INSERTION) return [];
    return baseFollowsForInRuleRecovery.call(this, tokType, tokIdxInRule);
  }

  /** Only closing brackets and simple punctuation are invented by recovery, never names or literals. */
  override canTokenTypeBeInsertedInRecovery(tokType: TokenType): boolean {
    return INSERTABLE.has(tokType);
  }

  // -------------------------------------------------------------------------
  // File and declarations

  public file = this.RULE("file", () => {
    this.MANY(() => this.SUBRULE(this.item));
  });

  public item = this.RULE("item", () => {
    this.MANY(() => this.SUBRULE(this.annotation));
    this.OR(
      (this.alts.item ??= [
        { ALT: () => this.SUBRULE(this.importDecl) },
        { ALT: () => this.SUBRULE(this.constDecl) },
        { ALT: () => this.SUBRULE(this.blockDecl) },
        { ALT: () => this.SUBRULE(this.trainDecl) },
        { ALT: () => this.CONSUME(T.Semicolon) },
      ]),
    );
  });

  /** `@checkpoint`, `@lr(0.1)`, `@name("x")` */
  public annotation = this.RULE("annotation", () => {
    this.CONSUME(T.Annotation);
    this.OPTION(() => {
      this.CONSUME(T.LParen);
      this.OPTION2(() => this.SUBRULE(this.argumentList));
      this.CONSUME(T.RParen);
    });
  });

  /** `import "./blocks.dlm"`, `import "std/transformer" as tf` */
  public importDecl = this.RULE("importDecl", () => {
    this.CONSUME(T.Import);
    this.CONSUME(T.StringLiteral);
    this.OPTION(() => {
      this.CONSUME(T.As);
      this.CONSUME(T.Identifier);
    });
  });

  /** `const width = 64` */
  public constDecl = this.RULE("constDecl", () => {
    this.CONSUME(T.Const);
    this.CONSUME(T.Identifier);
    this.CONSUME(T.Eq);
    this.SUBRULE(this.expression);
  });

  /** `block Name(params) { ... }` and `model Name(params) { ... }` */
  public blockDecl = this.RULE("blockDecl", () => {
    this.OR((this.alts.blockKeyword ??= [{ ALT: () => this.CONSUME(T.Block) }, { ALT: () => this.CONSUME(T.Model) }]));
    this.CONSUME(T.Identifier);
    this.OPTION(() => {
      this.CONSUME(T.LParen);
      this.OPTION2(() => this.SUBRULE(this.paramList));
      this.CONSUME(T.RParen);
    });
    this.SUBRULE(this.statementBlock);
  });

  public paramList = this.RULE("paramList", () => {
    this.SUBRULE(this.hyperParam);
    this.MANY(() => {
      this.CONSUME(T.Comma);
      this.SUBRULE2(this.hyperParam);
    });
    this.OPTION(() => this.CONSUME2(T.Comma));
  });

  /** `classes: int = 10`, `dims: list[int] = [64, 128]`, `act = "relu"` */
  public hyperParam = this.RULE("hyperParam", () => {
    this.CONSUME(T.Identifier);
    this.OPTION(() => {
      this.CONSUME(T.Colon);
      this.SUBRULE(this.typeName);
    });
    this.OPTION2(() => {
      this.CONSUME(T.Eq);
      this.SUBRULE(this.expression);
    });
  });

  /** `int`, `list[int]` */
  public typeName = this.RULE("typeName", () => {
    this.CONSUME(T.Identifier);
    this.OPTION(() => {
      this.CONSUME(T.LBracket);
      this.SUBRULE(this.typeName);
      this.MANY(() => {
        this.CONSUME(T.Comma);
        this.SUBRULE2(this.typeName);
      });
      this.CONSUME(T.RBracket);
    });
  });

  /** `train LeNet { stmt* phase name { stmt* } }` */
  public trainDecl = this.RULE("trainDecl", () => {
    this.CONSUME(T.Train);
    this.CONSUME(T.Identifier);
    this.CONSUME(T.LBrace);
    this.MANY(() => this.SUBRULE(this.trainItem));
    this.CONSUME(T.RBrace);
  });

  public trainItem = this.RULE("trainItem", () => {
    this.MANY(() => this.SUBRULE(this.annotation));
    this.OR((this.alts.trainItem ??= [{ ALT: () => this.SUBRULE(this.phaseDecl) }, { ALT: () => this.SUBRULE(this.statementCore) }]));
  });

  public phaseDecl = this.RULE("phaseDecl", () => {
    this.CONSUME(T.Phase);
    this.CONSUME(T.Identifier);
    this.SUBRULE(this.statementBlock);
  });

  // -------------------------------------------------------------------------
  // Statements

  /** `{ stmt* }`: the body of a block, model, phase or for loop */
  public statementBlock = this.RULE("statementBlock", () => {
    this.CONSUME(T.LBrace);
    this.MANY(() => this.SUBRULE(this.statement));
    this.CONSUME(T.RBrace);
  });

  public statement = this.RULE("statement", () => {
    this.MANY(() => this.SUBRULE(this.annotation));
    this.SUBRULE(this.statementCore);
  });

  public statementCore = this.RULE("statementCore", () => {
    this.OR(
      (this.alts.statementCore ??= [
        { ALT: () => this.SUBRULE(this.inputDecl) },
        { ALT: () => this.SUBRULE(this.stateDecl) },
        { ALT: () => this.SUBRULE(this.paramDecl) },
        { ALT: () => this.SUBRULE(this.layerDecl) },
        { ALT: () => this.SUBRULE(this.outputStmt) },
        { ALT: () => this.SUBRULE(this.nextStmt) },
        { ALT: () => this.SUBRULE(this.forStmt) },
        { ALT: () => this.SUBRULE(this.binding) },
        { ALT: () => this.CONSUME(T.Semicolon) },
      ]),
    );
  });

  /** `input x: f32[B, 3, 32, 32], labels: i64[B]` */
  public inputDecl = this.RULE("inputDecl", () => {
    this.CONSUME(T.Input);
    this.SUBRULE(this.typedName);
    this.MANY(() => {
      this.CONSUME(T.Comma);
      this.SUBRULE2(this.typedName);
    });
  });

  /** `state h: f32[B, hidden] = zeros, c: f32[B, hidden] = zeros` */
  public stateDecl = this.RULE("stateDecl", () => {
    this.CONSUME(T.State);
    this.SUBRULE(this.typedName);
    this.MANY(() => {
      this.CONSUME(T.Comma);
      this.SUBRULE2(this.typedName);
    });
  });

  public typedName = this.RULE("typedName", () => {
    this.CONSUME(T.Identifier);
    this.CONSUME(T.Colon);
    this.SUBRULE(this.tensorType);
    this.OPTION(() => {
      this.CONSUME(T.Eq);
      this.SUBRULE(this.expression);
    });
  });

  /** `param w: f32[d, d] = normal(std: 0.02)` */
  public paramDecl = this.RULE("paramDecl", () => {
    this.CONSUME(T.Param);
    this.CONSUME(T.Identifier);
    this.CONSUME(T.Colon);
    this.SUBRULE(this.tensorType);
    this.OPTION(() => {
      this.CONSUME(T.Eq);
      this.SUBRULE(this.expression);
    });
  });

  /** `layer tower = Tower(64)` */
  public layerDecl = this.RULE("layerDecl", () => {
    this.CONSUME(T.Layer);
    this.CONSUME(T.Identifier);
    this.CONSUME(T.Eq);
    this.SUBRULE(this.expression);
  });

  /** `output logits = e`, `output logits: f32[B, 10] = e`, `output e` */
  public outputStmt = this.RULE("outputStmt", () => {
    this.CONSUME(T.Output);
    this.OR(
      (this.orOpts.outputStmt ??= {
        // `output name =` / `output name :` is the named form; any other start is an expression.
        IGNORE_AMBIGUITIES: true,
        DEF: [
          {
            GATE: () => {
              const next = this.LA(2).tokenType;
              return next === T.Eq || next === T.Colon;
            },
            ALT: () => {
              this.CONSUME(T.Identifier);
              this.OPTION(() => {
                this.CONSUME(T.Colon);
                this.SUBRULE(this.tensorType);
              });
              this.CONSUME(T.Eq);
              this.SUBRULE(this.expression, { LABEL: "value" });
            },
          },
          { ALT: () => this.SUBRULE2(this.expression, { LABEL: "value" }) },
        ],
      }),
    );
  });

  /** `next c = e` */
  public nextStmt = this.RULE("nextStmt", () => {
    this.CONSUME(T.Next);
    this.CONSUME(T.Identifier);
    this.CONSUME(T.Eq);
    this.SUBRULE(this.expression);
  });

  /** `for i in 0..n { ... }` */
  public forStmt = this.RULE("forStmt", () => {
    this.CONSUME(T.For);
    this.CONSUME(T.Identifier);
    this.CONSUME(T.In);
    this.SUBRULE(this.expression);
    this.SUBRULE(this.statementBlock);
  });

  /** `h: f32[B, 400] = e`, `i, f, g, o = e` */
  public binding = this.RULE("binding", () => {
    this.SUBRULE(this.bindingTarget);
    this.MANY(() => {
      this.CONSUME(T.Comma);
      this.SUBRULE2(this.bindingTarget);
    });
    this.CONSUME(T.Eq);
    this.SUBRULE(this.expression);
  });

  public bindingTarget = this.RULE("bindingTarget", () => {
    this.CONSUME(T.Identifier);
    this.OPTION(() => {
      this.CONSUME(T.Colon);
      this.SUBRULE(this.tensorType);
    });
  });

  /** `f32[B, 3, H / 2, _]`; a bare dtype (`f32`) is a scalar */
  public tensorType = this.RULE("tensorType", () => {
    this.CONSUME(T.Identifier);
    this.OPTION(() => {
      this.CONSUME(T.LBracket);
      this.OPTION2(() => {
        this.SUBRULE(this.expression);
        this.MANY(() => {
          this.CONSUME(T.Comma);
          this.SUBRULE2(this.expression);
        });
        this.OPTION3(() => this.CONSUME2(T.Comma));
      });
      this.CONSUME(T.RBracket);
    });
  });

  // -------------------------------------------------------------------------
  // Expressions (flat: precedence is applied in to-ast.ts)

  /**
   * `prefix* atom postfix* (binop prefix* atom postfix*)*`, all in one rule: every rule
   * invocation costs stack, and this keeps it at three rules per bracket level
   * (`expression → atom → parenExpr → expression`, `expression → postfix → argument →
   * expression`). to-ast.ts regroups the pieces by their source offsets.
   */
  public expression = this.RULE("expression", () => {
    this.MANY(() => this.CONSUME(T.PrefixOperator));
    this.SUBRULE(this.atom);
    this.MANY2(() => this.SUBRULE(this.postfix));
    this.MANY3(() => {
      this.CONSUME(T.BinaryOperator);
      this.MANY4(() => this.CONSUME2(T.PrefixOperator));
      this.SUBRULE2(this.atom);
      this.MANY5(() => this.SUBRULE2(this.postfix));
    });
  });

  /** `(args)`, `[indices]`, `.name`, `as name`, `as name[i]` */
  public postfix = this.RULE("postfix", () => {
    this.OR(
      (this.alts.postfix ??= [
        {
          ALT: () => {
            this.CONSUME(T.LParen);
            this.OPTION(() => {
              // the argument list, inlined (see `expression`)
              this.SUBRULE(this.argument);
              this.MANY2(() => {
                this.CONSUME2(T.Comma);
                this.SUBRULE2(this.argument);
              });
              this.OPTION3(() => this.CONSUME3(T.Comma));
            });
            this.CONSUME(T.RParen);
          },
        },
        {
          ALT: () => {
            this.CONSUME(T.LBracket);
            this.SUBRULE(this.indexItem);
            this.MANY(() => {
              this.CONSUME(T.Comma);
              this.SUBRULE2(this.indexItem);
            });
            this.CONSUME(T.RBracket);
          },
        },
        {
          ALT: () => {
            this.CONSUME(T.Dot);
            this.SUBRULE(this.name);
          },
        },
        {
          ALT: () => {
            this.CONSUME(T.As);
            this.SUBRULE2(this.name);
            this.OPTION2(() => {
              this.CONSUME2(T.LBracket, { LABEL: "asLBracket" });
              this.SUBRULE(this.expression, { LABEL: "asIndex" });
              this.CONSUME2(T.RBracket, { LABEL: "asRBracket" });
            });
          },
        },
      ]),
    );
  });

  /** a name that may also be a soft keyword: after `.`, after `as`, and for named arguments */
  public name = this.RULE("name", () => {
    this.OR((this.alts.name ??= [{ ALT: () => this.CONSUME(T.Identifier) }, { ALT: () => this.CONSUME(T.SoftKeyword) }]));
  });

  public argumentList = this.RULE("argumentList", () => {
    this.SUBRULE(this.argument);
    this.MANY(() => {
      this.CONSUME(T.Comma);
      this.SUBRULE2(this.argument);
    });
    this.OPTION(() => this.CONSUME2(T.Comma));
  });

  /** `x`, `kernel: 5` */
  public argument = this.RULE("argument", () => {
    this.OPTION(
      (this.opts.argumentName ??= {
        GATE: () => this.LA(2).tokenType === T.Colon,
        DEF: () => {
          this.SUBRULE(this.name);
          this.CONSUME(T.Colon);
        },
      }),
    );
    this.SUBRULE(this.expression);
  });

  /** `e`, or a slice `start:stop:step` with every part optional */
  public indexItem = this.RULE("indexItem", () => {
    this.OR(
      (this.alts.indexItem ??= [
        {
          ALT: () => {
            this.CONSUME(T.Colon);
            this.OPTION(() => this.SUBRULE(this.expression, { LABEL: "stop" }));
            this.OPTION2(() => {
              this.CONSUME2(T.Colon);
              this.OPTION3(() => this.SUBRULE2(this.expression, { LABEL: "step" }));
            });
          },
        },
        {
          ALT: () => {
            this.SUBRULE3(this.expression, { LABEL: "start" });
            this.OPTION4(() => {
              this.CONSUME3(T.Colon);
              this.OPTION5(() => this.SUBRULE4(this.expression, { LABEL: "stop" }));
              this.OPTION6(() => {
                this.CONSUME4(T.Colon);
                this.OPTION7(() => this.SUBRULE5(this.expression, { LABEL: "step" }));
              });
            });
          },
        },
      ]),
    );
  });

  public atom = this.RULE("atom", () => {
    this.OR(
      (this.alts.atom ??= [
        { ALT: () => this.CONSUME(T.Identifier) },
        { ALT: () => this.CONSUME(T.NumberLiteral) },
        { ALT: () => this.CONSUME(T.StringLiteral) },
        { ALT: () => this.CONSUME(T.True) },
        { ALT: () => this.CONSUME(T.False) },
        { ALT: () => this.CONSUME(T.None) },
        { ALT: () => this.SUBRULE(this.parenExpr) },
        { ALT: () => this.SUBRULE(this.listExpr) },
        { ALT: () => this.SUBRULE(this.ifExpr) },
      ]),
    );
  });

  /** `(e)`, `()`, `(a,)`, `(a, b)` */
  public parenExpr = this.RULE("parenExpr", () => {
    this.CONSUME(T.LParen);
    this.OPTION(() => {
      this.SUBRULE(this.expression);
      this.MANY(() => {
        this.CONSUME(T.Comma);
        this.SUBRULE2(this.expression);
      });
      this.OPTION2(() => this.CONSUME2(T.Comma));
    });
    this.CONSUME(T.RParen);
  });

  /** `[a, b]`, `[]`, `[e for i in xs if c]` */
  public listExpr = this.RULE("listExpr", () => {
    this.CONSUME(T.LBracket);
    this.OPTION(() => {
      this.SUBRULE(this.expression, { LABEL: "element" });
      this.OR(
        (this.alts.listTail ??= [
          {
            ALT: () => {
              this.CONSUME(T.For);
              this.CONSUME(T.Identifier);
              this.CONSUME(T.In);
              this.SUBRULE2(this.expression, { LABEL: "iterable" });
              this.OPTION2(() => {
                this.CONSUME(T.If);
                this.SUBRULE3(this.expression, { LABEL: "condition" });
              });
            },
          },
          {
            ALT: () => {
              this.MANY(() => {
                this.CONSUME(T.Comma);
                this.SUBRULE4(this.expression, { LABEL: "element" });
              });
              this.OPTION3(() => this.CONSUME2(T.Comma));
            },
          },
        ]),
      );
    });
    this.CONSUME(T.RBracket);
  });

  /** `if c { ... } else if d { ... } else { ... }`: the chain is a loop, not recursion */
  public ifExpr = this.RULE("ifExpr", () => {
    this.CONSUME(T.If);
    this.SUBRULE(this.expression, { LABEL: "condition" });
    this.SUBRULE(this.blockExpr, { LABEL: "then" });
    this.MANY(
      (this.opts.elseIf ??= {
        GATE: () => this.LA(2).tokenType === T.If,
        DEF: () => {
          this.CONSUME(T.Else);
          this.CONSUME2(T.If);
          this.SUBRULE2(this.expression, { LABEL: "condition" });
          this.SUBRULE2(this.blockExpr, { LABEL: "then" });
        },
      }),
    );
    this.OPTION(() => {
      this.CONSUME2(T.Else, { LABEL: "finalElse" });
      this.SUBRULE3(this.blockExpr, { LABEL: "otherwise" });
    });
  });

  /** `{ bindings; result }` */
  public blockExpr = this.RULE("blockExpr", () => {
    this.CONSUME(T.LBrace);
    this.MANY(
      (this.opts.blockBindings ??= {
        GATE: () => {
          const first = this.LA(1).tokenType;
          if (first === T.Annotation) return true;
          const second = this.LA(2).tokenType;
          return first === T.Identifier && (second === T.Eq || second === T.Colon || second === T.Comma);
        },
        DEF: () => this.SUBRULE(this.blockBinding),
      }),
    );
    this.SUBRULE(this.expression, { LABEL: "result" });
    this.CONSUME(T.RBrace);
  });

  /** `@checkpoint a = e;` inside an `if` block */
  public blockBinding = this.RULE("blockBinding", () => {
    this.MANY(() => this.SUBRULE(this.annotation));
    this.SUBRULE(this.binding);
    this.OPTION(() => this.CONSUME(T.Semicolon));
  });
}

/** The one parser instance (construction analyses the grammar, so it is done once). */
export const dlmParser = new DlmParser();
