// Generated from parser.ts by generate.ts (`npm run gen:grammar`). Do not edit by hand.

import type { CstNode, ICstVisitor, IToken } from "chevrotain";

export interface FileCstNode extends CstNode {
  name: "file";
  children: FileCstChildren;
}

export type FileCstChildren = {
  item?: ItemCstNode[];
};

export interface ItemCstNode extends CstNode {
  name: "item";
  children: ItemCstChildren;
}

export type ItemCstChildren = {
  annotation?: AnnotationCstNode[];
  importDecl?: ImportDeclCstNode[];
  constDecl?: ConstDeclCstNode[];
  blockDecl?: BlockDeclCstNode[];
  trainDecl?: TrainDeclCstNode[];
  Semicolon?: IToken[];
};

export interface AnnotationCstNode extends CstNode {
  name: "annotation";
  children: AnnotationCstChildren;
}

export type AnnotationCstChildren = {
  Annotation: IToken[];
  LParen?: IToken[];
  argumentList?: ArgumentListCstNode[];
  RParen?: IToken[];
};

export interface ImportDeclCstNode extends CstNode {
  name: "importDecl";
  children: ImportDeclCstChildren;
}

export type ImportDeclCstChildren = {
  Import: IToken[];
  StringLiteral: IToken[];
  As?: IToken[];
  Identifier?: IToken[];
};

export interface ConstDeclCstNode extends CstNode {
  name: "constDecl";
  children: ConstDeclCstChildren;
}

export type ConstDeclCstChildren = {
  Const: IToken[];
  Identifier: IToken[];
  Eq: IToken[];
  expression: ExpressionCstNode[];
};

export interface BlockDeclCstNode extends CstNode {
  name: "blockDecl";
  children: BlockDeclCstChildren;
}

export type BlockDeclCstChildren = {
  Block?: IToken[];
  Model?: IToken[];
  Identifier: IToken[];
  LParen?: IToken[];
  paramList?: ParamListCstNode[];
  RParen?: IToken[];
  statementBlock: StatementBlockCstNode[];
};

export interface ParamListCstNode extends CstNode {
  name: "paramList";
  children: ParamListCstChildren;
}

export type ParamListCstChildren = {
  hyperParam: (HyperParamCstNode)[];
  Comma?: (IToken)[];
};

export interface HyperParamCstNode extends CstNode {
  name: "hyperParam";
  children: HyperParamCstChildren;
}

export type HyperParamCstChildren = {
  Identifier: IToken[];
  Colon?: IToken[];
  typeName?: TypeNameCstNode[];
  Eq?: IToken[];
  expression?: ExpressionCstNode[];
};

export interface TypeNameCstNode extends CstNode {
  name: "typeName";
  children: TypeNameCstChildren;
}

export type TypeNameCstChildren = {
  Identifier: IToken[];
  LBracket?: IToken[];
  typeName?: (TypeNameCstNode)[];
  Comma?: IToken[];
  RBracket?: IToken[];
};

export interface TrainDeclCstNode extends CstNode {
  name: "trainDecl";
  children: TrainDeclCstChildren;
}

export type TrainDeclCstChildren = {
  Train: IToken[];
  Identifier: IToken[];
  LBrace: IToken[];
  trainItem?: TrainItemCstNode[];
  RBrace: IToken[];
};

export interface TrainItemCstNode extends CstNode {
  name: "trainItem";
  children: TrainItemCstChildren;
}

export type TrainItemCstChildren = {
  annotation?: AnnotationCstNode[];
  phaseDecl?: PhaseDeclCstNode[];
  statementCore?: StatementCoreCstNode[];
};

export interface PhaseDeclCstNode extends CstNode {
  name: "phaseDecl";
  children: PhaseDeclCstChildren;
}

export type PhaseDeclCstChildren = {
  Phase: IToken[];
  Identifier: IToken[];
  statementBlock: StatementBlockCstNode[];
};

export interface StatementBlockCstNode extends CstNode {
  name: "statementBlock";
  children: StatementBlockCstChildren;
}

export type StatementBlockCstChildren = {
  LBrace: IToken[];
  statement?: StatementCstNode[];
  RBrace: IToken[];
};

export interface StatementCstNode extends CstNode {
  name: "statement";
  children: StatementCstChildren;
}

export type StatementCstChildren = {
  annotation?: AnnotationCstNode[];
  statementCore: StatementCoreCstNode[];
};

export interface StatementCoreCstNode extends CstNode {
  name: "statementCore";
  children: StatementCoreCstChildren;
}

export type StatementCoreCstChildren = {
  inputDecl?: InputDeclCstNode[];
  stateDecl?: StateDeclCstNode[];
  paramDecl?: ParamDeclCstNode[];
  layerDecl?: LayerDeclCstNode[];
  outputStmt?: OutputStmtCstNode[];
  nextStmt?: NextStmtCstNode[];
  forStmt?: ForStmtCstNode[];
  binding?: BindingCstNode[];
  Semicolon?: IToken[];
};

export interface InputDeclCstNode extends CstNode {
  name: "inputDecl";
  children: InputDeclCstChildren;
}

export type InputDeclCstChildren = {
  Input: IToken[];
  typedName: (TypedNameCstNode)[];
  Comma?: IToken[];
};

export interface StateDeclCstNode extends CstNode {
  name: "stateDecl";
  children: StateDeclCstChildren;
}

export type StateDeclCstChildren = {
  State: IToken[];
  typedName: (TypedNameCstNode)[];
  Comma?: IToken[];
};

export interface TypedNameCstNode extends CstNode {
  name: "typedName";
  children: TypedNameCstChildren;
}

export type TypedNameCstChildren = {
  Identifier: IToken[];
  Colon: IToken[];
  tensorType: TensorTypeCstNode[];
  Eq?: IToken[];
  expression?: ExpressionCstNode[];
};

export interface ParamDeclCstNode extends CstNode {
  name: "paramDecl";
  children: ParamDeclCstChildren;
}

export type ParamDeclCstChildren = {
  Param: IToken[];
  Identifier: IToken[];
  Colon: IToken[];
  tensorType: TensorTypeCstNode[];
  Eq?: IToken[];
  expression?: ExpressionCstNode[];
};

export interface LayerDeclCstNode extends CstNode {
  name: "layerDecl";
  children: LayerDeclCstChildren;
}

export type LayerDeclCstChildren = {
  Layer: IToken[];
  Identifier: IToken[];
  Eq: IToken[];
  expression: ExpressionCstNode[];
};

export interface OutputStmtCstNode extends CstNode {
  name: "outputStmt";
  children: OutputStmtCstChildren;
}

export type OutputStmtCstChildren = {
  Output: IToken[];
  Identifier?: IToken[];
  Colon?: IToken[];
  tensorType?: TensorTypeCstNode[];
  Eq?: IToken[];
  value?: (ExpressionCstNode)[];
};

export interface NextStmtCstNode extends CstNode {
  name: "nextStmt";
  children: NextStmtCstChildren;
}

export type NextStmtCstChildren = {
  Next: IToken[];
  Identifier: IToken[];
  Eq: IToken[];
  expression: ExpressionCstNode[];
};

export interface ForStmtCstNode extends CstNode {
  name: "forStmt";
  children: ForStmtCstChildren;
}

export type ForStmtCstChildren = {
  For: IToken[];
  Identifier: IToken[];
  In: IToken[];
  expression: ExpressionCstNode[];
  statementBlock: StatementBlockCstNode[];
};

export interface BindingCstNode extends CstNode {
  name: "binding";
  children: BindingCstChildren;
}

export type BindingCstChildren = {
  bindingTarget: (BindingTargetCstNode)[];
  Comma?: IToken[];
  Eq: IToken[];
  expression: ExpressionCstNode[];
};

export interface BindingTargetCstNode extends CstNode {
  name: "bindingTarget";
  children: BindingTargetCstChildren;
}

export type BindingTargetCstChildren = {
  Identifier: IToken[];
  Colon?: IToken[];
  tensorType?: TensorTypeCstNode[];
};

export interface TensorTypeCstNode extends CstNode {
  name: "tensorType";
  children: TensorTypeCstChildren;
}

export type TensorTypeCstChildren = {
  Identifier: IToken[];
  LBracket?: IToken[];
  expression?: (ExpressionCstNode)[];
  Comma?: (IToken)[];
  RBracket?: IToken[];
};

export interface ExpressionCstNode extends CstNode {
  name: "expression";
  children: ExpressionCstChildren;
}

export type ExpressionCstChildren = {
  PrefixOperator?: (IToken)[];
  atom: (AtomCstNode)[];
  postfix?: (PostfixCstNode)[];
  BinaryOperator?: IToken[];
};

export interface PostfixCstNode extends CstNode {
  name: "postfix";
  children: PostfixCstChildren;
}

export type PostfixCstChildren = {
  LParen?: IToken[];
  argument?: (ArgumentCstNode)[];
  Comma?: (IToken)[];
  RParen?: IToken[];
  LBracket?: IToken[];
  indexItem?: (IndexItemCstNode)[];
  RBracket?: IToken[];
  Dot?: IToken[];
  name?: (NameCstNode)[];
  As?: IToken[];
  asLBracket?: IToken[];
  asIndex?: ExpressionCstNode[];
  asRBracket?: IToken[];
};

export interface NameCstNode extends CstNode {
  name: "name";
  children: NameCstChildren;
}

export type NameCstChildren = {
  Identifier?: IToken[];
  SoftKeyword?: IToken[];
};

export interface ArgumentListCstNode extends CstNode {
  name: "argumentList";
  children: ArgumentListCstChildren;
}

export type ArgumentListCstChildren = {
  argument: (ArgumentCstNode)[];
  Comma?: (IToken)[];
};

export interface ArgumentCstNode extends CstNode {
  name: "argument";
  children: ArgumentCstChildren;
}

export type ArgumentCstChildren = {
  name?: NameCstNode[];
  Colon?: IToken[];
  expression: ExpressionCstNode[];
};

export interface IndexItemCstNode extends CstNode {
  name: "indexItem";
  children: IndexItemCstChildren;
}

export type IndexItemCstChildren = {
  Colon?: (IToken)[];
  stop?: (ExpressionCstNode)[];
  step?: (ExpressionCstNode)[];
  start?: ExpressionCstNode[];
};

export interface AtomCstNode extends CstNode {
  name: "atom";
  children: AtomCstChildren;
}

export type AtomCstChildren = {
  Identifier?: IToken[];
  NumberLiteral?: IToken[];
  StringLiteral?: IToken[];
  True?: IToken[];
  False?: IToken[];
  None?: IToken[];
  parenExpr?: ParenExprCstNode[];
  listExpr?: ListExprCstNode[];
  ifExpr?: IfExprCstNode[];
};

export interface ParenExprCstNode extends CstNode {
  name: "parenExpr";
  children: ParenExprCstChildren;
}

export type ParenExprCstChildren = {
  LParen: IToken[];
  expression?: (ExpressionCstNode)[];
  Comma?: (IToken)[];
  RParen: IToken[];
};

export interface ListExprCstNode extends CstNode {
  name: "listExpr";
  children: ListExprCstChildren;
}

export type ListExprCstChildren = {
  LBracket: IToken[];
  element?: (ExpressionCstNode)[];
  For?: IToken[];
  Identifier?: IToken[];
  In?: IToken[];
  iterable?: ExpressionCstNode[];
  If?: IToken[];
  condition?: ExpressionCstNode[];
  Comma?: (IToken)[];
  RBracket: IToken[];
};

export interface IfExprCstNode extends CstNode {
  name: "ifExpr";
  children: IfExprCstChildren;
}

export type IfExprCstChildren = {
  If: (IToken)[];
  condition: (ExpressionCstNode)[];
  then: (BlockExprCstNode)[];
  Else?: IToken[];
  finalElse?: IToken[];
  otherwise?: BlockExprCstNode[];
};

export interface BlockExprCstNode extends CstNode {
  name: "blockExpr";
  children: BlockExprCstChildren;
}

export type BlockExprCstChildren = {
  LBrace: IToken[];
  blockBinding?: BlockBindingCstNode[];
  result: ExpressionCstNode[];
  RBrace: IToken[];
};

export interface BlockBindingCstNode extends CstNode {
  name: "blockBinding";
  children: BlockBindingCstChildren;
}

export type BlockBindingCstChildren = {
  annotation?: AnnotationCstNode[];
  binding: BindingCstNode[];
  Semicolon?: IToken[];
};

export interface ICstNodeVisitor<IN, OUT> extends ICstVisitor<IN, OUT> {
  file(children: FileCstChildren, param?: IN): OUT;
  item(children: ItemCstChildren, param?: IN): OUT;
  annotation(children: AnnotationCstChildren, param?: IN): OUT;
  importDecl(children: ImportDeclCstChildren, param?: IN): OUT;
  constDecl(children: ConstDeclCstChildren, param?: IN): OUT;
  blockDecl(children: BlockDeclCstChildren, param?: IN): OUT;
  paramList(children: ParamListCstChildren, param?: IN): OUT;
  hyperParam(children: HyperParamCstChildren, param?: IN): OUT;
  typeName(children: TypeNameCstChildren, param?: IN): OUT;
  trainDecl(children: TrainDeclCstChildren, param?: IN): OUT;
  trainItem(children: TrainItemCstChildren, param?: IN): OUT;
  phaseDecl(children: PhaseDeclCstChildren, param?: IN): OUT;
  statementBlock(children: StatementBlockCstChildren, param?: IN): OUT;
  statement(children: StatementCstChildren, param?: IN): OUT;
  statementCore(children: StatementCoreCstChildren, param?: IN): OUT;
  inputDecl(children: InputDeclCstChildren, param?: IN): OUT;
  stateDecl(children: StateDeclCstChildren, param?: IN): OUT;
  typedName(children: TypedNameCstChildren, param?: IN): OUT;
  paramDecl(children: ParamDeclCstChildren, param?: IN): OUT;
  layerDecl(children: LayerDeclCstChildren, param?: IN): OUT;
  outputStmt(children: OutputStmtCstChildren, param?: IN): OUT;
  nextStmt(children: NextStmtCstChildren, param?: IN): OUT;
  forStmt(children: ForStmtCstChildren, param?: IN): OUT;
  binding(children: BindingCstChildren, param?: IN): OUT;
  bindingTarget(children: BindingTargetCstChildren, param?: IN): OUT;
  tensorType(children: TensorTypeCstChildren, param?: IN): OUT;
  expression(children: ExpressionCstChildren, param?: IN): OUT;
  postfix(children: PostfixCstChildren, param?: IN): OUT;
  name(children: NameCstChildren, param?: IN): OUT;
  argumentList(children: ArgumentListCstChildren, param?: IN): OUT;
  argument(children: ArgumentCstChildren, param?: IN): OUT;
  indexItem(children: IndexItemCstChildren, param?: IN): OUT;
  atom(children: AtomCstChildren, param?: IN): OUT;
  parenExpr(children: ParenExprCstChildren, param?: IN): OUT;
  listExpr(children: ListExprCstChildren, param?: IN): OUT;
  ifExpr(children: IfExprCstChildren, param?: IN): OUT;
  blockExpr(children: BlockExprCstChildren, param?: IN): OUT;
  blockBinding(children: BlockBindingCstChildren, param?: IN): OUT;
}
