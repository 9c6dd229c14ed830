// Node options the language server runs with. A check allocates many short-lived objects
// (tokens, syntax trees, shapes); a young generation larger than V8's default takes
// about a third off the time each check spends, most of it in the garbage collector. V8
// reads the option only at start-up, so whoever starts the server passes it.
export const SERVER_NODE_OPTIONS: readonly string[] = ["--max-semi-space-size=64"];
