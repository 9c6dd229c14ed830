// The typed AST of a .dlm file. Every node carries the source range it was parsed from,
// so every later diagnostic can point at the text. Produced by `parseDlm` (parse.ts);
// a file that failed to parse still yields an AST, with `Missing`/`Error` holes where
// recovery skipped tokens.

export interface Position {
  /** 0-based character offset */
  readonly offset: number;
  /** 1-based */
  readonly line: number;
  /** 1-based, in UTF-16 code units */
  readonly column: number;
}

export interface SourceRange {
  readonly start: Position;
  /** exclusive */
  readonly end: Position;
}

interface NodeBase {
  readonly range: SourceRange;
}

export interface Identifier extends NodeBase {
  readonly kind: "Identifier";
  readonly name: string;
}

// ---------------------------------------------------------------------------
// Top level

export interface DlmFile extends NodeBase {
  readonly kind: "File";
  readonly items: readonly Item[];
}

export type Item = ImportDecl | ConstDecl | BlockDecl | TrainDecl;

export interface Annotation extends NodeBase {
  readonly kind: "Annotation";
  /** `@checkpoint` → "checkpoint" */
  readonly name: Identifier;
  readonly args: readonly Argument[];
}

/** `import "./blocks.dlm"` or `import "std/transformer" as tf` */
export interface ImportDecl extends NodeBase {
  readonly kind: "Import";
  readonly path: StringLiteral;
  readonly alias?: Identifier;
  readonly doc?: string;
}

/** `const width = 64` at file level */
export interface ConstDecl extends NodeBase {
  readonly kind: "Const";
  readonly name: Identifier;
  readonly value: Expr;
  readonly doc?: string;
  readonly annotations: readonly Annotation[];
}

/** Both `block` and `model` declarations; a model is a block that can be compiled and trained. */
export interface BlockDecl extends NodeBase {
  readonly kind: "Block";
  readonly isModel: boolean;
  readonly name: Identifier;
  readonly params: readonly HyperParam[];
  readonly body: readonly Stmt[];
  /** text of the `///` comments right before the declaration, markers stripped */
  readonly doc?: string;
  readonly annotations: readonly Annotation[];
}

/** `classes: int = 10`; type and default are both optional */
export interface HyperParam extends NodeBase {
  readonly kind: "HyperParam";
  readonly name: Identifier;
  /** int | float | bool | str | dim | list | list[int] ...: kept as written */
  readonly type?: TypeName;
  readonly default?: Expr;
  readonly doc?: string;
}

export interface TypeName extends NodeBase {
  readonly kind: "TypeName";
  readonly name: Identifier;
  readonly args: readonly TypeName[];
}

/** `train LeNet { ... }`: statements plus optional `phase NAME { ... }` sections */
export interface TrainDecl extends NodeBase {
  readonly kind: "Train";
  readonly model: Identifier;
  readonly body: readonly (Stmt | PhaseDecl)[];
  readonly doc?: string;
  readonly annotations: readonly Annotation[];
}

export interface PhaseDecl extends NodeBase {
  readonly kind: "Phase";
  readonly name: Identifier;
  readonly body: readonly Stmt[];
  readonly annotations: readonly Annotation[];
}

// ---------------------------------------------------------------------------
// Statements (inside block/model/train bodies). Every statement may carry annotations.

export type Stmt = InputDecl | StateDecl | ParamDecl | LayerDecl | OutputStmt | NextStmt | Binding | ForStmt | ErrorStmt;

/** `input x: f32[B, 3, 32, 32], labels: i64[B]` */
export interface InputDecl extends NodeBase {
  readonly kind: "Input";
  readonly items: readonly TypedName[];
  readonly annotations: readonly Annotation[];
}

export interface TypedName extends NodeBase {
  readonly kind: "TypedName";
  readonly name: Identifier;
  readonly type: TensorTypeExpr;
  /** for `state`: the initial value (`zeros`, `learned`, an expression) */
  readonly init?: Expr;
}

/** `state h: f32[B, hidden] = zeros, c: f32[B, hidden] = zeros` (inside a scan cell) */
export interface StateDecl extends NodeBase {
  readonly kind: "State";
  readonly items: readonly TypedName[];
  readonly annotations: readonly Annotation[];
}

/** `param w: f32[d, d] = normal(std: 0.02)`: an explicit learnable tensor */
export interface ParamDecl extends NodeBase {
  readonly kind: "Param";
  readonly name: Identifier;
  readonly type: TensorTypeExpr;
  readonly init?: Expr;
  readonly annotations: readonly Annotation[];
}

/** `layer tower = Tower(64)`: a named layer instance, applied later, sharing parameters */
export interface LayerDecl extends NodeBase {
  readonly kind: "Layer";
  readonly name: Identifier;
  readonly value: Expr;
  readonly annotations: readonly Annotation[];
}

/** `output logits = expr`, `output logits: f32[B, 10] = expr` or `output expr` */
export interface OutputStmt extends NodeBase {
  readonly kind: "Output";
  readonly name?: Identifier;
  readonly type?: TensorTypeExpr;
  readonly value: Expr;
  readonly annotations: readonly Annotation[];
}

/** `next h = expr`: the new value of a carried state in a scan cell */
export interface NextStmt extends NodeBase {
  readonly kind: "Next";
  readonly name: Identifier;
  readonly value: Expr;
  readonly annotations: readonly Annotation[];
}

/** `h: f32[B, 400] = flatten(x)`, `i, f, g, o = split(z, 4)` */
export interface Binding extends NodeBase {
  readonly kind: "Binding";
  readonly targets: readonly BindingTarget[];
  readonly value: Expr;
  readonly annotations: readonly Annotation[];
}

export interface BindingTarget extends NodeBase {
  readonly kind: "BindingTarget";
  readonly name: Identifier;
  readonly type?: TensorTypeExpr;
}

/** `for i in 0..n { ... }`: compile-time loop; names bound before it may be reassigned inside */
export interface ForStmt extends NodeBase {
  readonly kind: "For";
  readonly variable: Identifier;
  readonly iterable: Expr;
  readonly body: readonly Stmt[];
  readonly annotations: readonly Annotation[];
}

/** what recovery left where a statement could not be parsed */
export interface ErrorStmt extends NodeBase {
  readonly kind: "ErrorStmt";
  readonly annotations: readonly Annotation[];
}

// ---------------------------------------------------------------------------
// Types

/** `f32[B, 3, H / 2, _]` */
export interface TensorTypeExpr extends NodeBase {
  readonly kind: "TensorType";
  readonly dtype: Identifier;
  readonly dims: readonly (Expr | Wildcard)[];
}

export interface Wildcard extends NodeBase {
  readonly kind: "Wildcard";
}

// ---------------------------------------------------------------------------
// Expressions

export type Expr =
  | NumberLiteral
  | StringLiteral
  | BoolLiteral
  | NoneLiteral
  | Identifier
  | BinaryExpr
  | UnaryExpr
  | PipeExpr
  | CallExpr
  | IndexExpr
  | MemberExpr
  | NamedExpr
  | ListExpr
  | TupleExpr
  | ComprehensionExpr
  | RangeExpr
  | IfExpr
  | MissingExpr;

export interface NumberLiteral extends NodeBase {
  readonly kind: "Number";
  readonly value: number;
  /** written with a '.', an exponent or as a float (1.0, 1e-3): a float even when integral */
  readonly isFloat: boolean;
  readonly text: string;
}

export interface StringLiteral extends NodeBase {
  readonly kind: "String";
  /** unescaped */
  readonly value: string;
}

export interface BoolLiteral extends NodeBase {
  readonly kind: "Bool";
  readonly value: boolean;
}

export interface NoneLiteral extends NodeBase {
  readonly kind: "None";
}

export type BinaryOp = "+" | "-" | "*" | "/" | "%" | "**" | "@" | "==" | "!=" | "<" | "<=" | ">" | ">=" | "and" | "or";

export interface BinaryExpr extends NodeBase {
  readonly kind: "Binary";
  readonly op: BinaryOp;
  readonly opRange: SourceRange;
  readonly left: Expr;
  readonly right: Expr;
}

export interface UnaryExpr extends NodeBase {
  readonly kind: "Unary";
  readonly op: "-" | "+" | "not";
  readonly operand: Expr;
}

/** `x |> conv2d(6, 5) |> relu`: `a |> f(args)` means `f(a, args)`, `a |> f` means `f(a)` */
export interface PipeExpr extends NodeBase {
  readonly kind: "Pipe";
  readonly head: Expr;
  readonly stages: readonly Expr[];
}

export interface CallExpr extends NodeBase {
  readonly kind: "Call";
  readonly callee: Expr;
  readonly args: readonly Argument[];
}

/** positional when `name` is absent; `kernel: 5` is named */
export interface Argument extends NodeBase {
  readonly kind: "Argument";
  readonly name?: Identifier;
  readonly value: Expr;
}

/** `x[:, -1]`, `dims[i]` */
export interface IndexExpr extends NodeBase {
  readonly kind: "Index";
  readonly target: Expr;
  readonly indices: readonly (Expr | SliceExpr)[];
}

/** `a:b:s` inside an index, each part optional (`:` alone is the whole axis) */
export interface SliceExpr extends NodeBase {
  readonly kind: "Slice";
  readonly start?: Expr;
  readonly stop?: Expr;
  readonly step?: Expr;
}

/** `wte.weight`, `std.Residual` */
export interface MemberExpr extends NodeBase {
  readonly kind: "Member";
  readonly target: Expr;
  readonly member: Identifier;
}

/** `conv2d(64, 3) as conv1`, `Block() as layer[i]`: names the layer instance an expression creates */
export interface NamedExpr extends NodeBase {
  readonly kind: "Named";
  readonly value: Expr;
  readonly name: Identifier;
  /** `as layer[i]` → name "layer", index i: instance "layer.<i>" */
  readonly index?: Expr;
}

export interface ListExpr extends NodeBase {
  readonly kind: "List";
  readonly elements: readonly Expr[];
}

/** `(a, b)`; a parenthesised single expression is not a tuple */
export interface TupleExpr extends NodeBase {
  readonly kind: "Tuple";
  readonly elements: readonly Expr[];
}

/** `[Block(64 * 2 ** i) for i in 0..4 if i != 2]` */
export interface ComprehensionExpr extends NodeBase {
  readonly kind: "Comprehension";
  readonly element: Expr;
  readonly variable: Identifier;
  readonly iterable: Expr;
  readonly condition?: Expr;
}

/** `0..n`: the integers 0, 1, ..., n-1 */
export interface RangeExpr extends NodeBase {
  readonly kind: "Range";
  readonly start: Expr;
  readonly end: Expr;
}

/** `if c { bindings; expr } else if d { ... } else { ... }`: decided at compile time */
export interface IfExpr extends NodeBase {
  readonly kind: "If";
  readonly condition: Expr;
  readonly then: BlockExpr;
  /** an `else if` chain is a nested IfExpr */
  readonly else?: BlockExpr | IfExpr;
}

export interface BlockExpr extends NodeBase {
  readonly kind: "BlockExpr";
  readonly stmts: readonly Binding[];
  readonly result: Expr;
}

/** what recovery left where an expression was expected */
export interface MissingExpr extends NodeBase {
  readonly kind: "Missing";
}

export type AnyNode =
  | DlmFile
  | Item
  | Stmt
  | Expr
  | Annotation
  | HyperParam
  | TypeName
  | PhaseDecl
  | TypedName
  | BindingTarget
  | TensorTypeExpr
  | Wildcard
  | Argument
  | SliceExpr
  | BlockExpr;
