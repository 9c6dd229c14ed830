// expect: DLM3101 6:12
// the new state must keep the state's shape
block Cell(n: int) {
  input x: f32[B, X]
  state h: f32[B, n] = zeros
  next h = linear(concat(x, h, axis: -1), n + 1)
  output h
}
model M(T: dim = 5) {
  input xs: f32[B, T, 4]
  output y = scan(xs, Cell(8), axis: 1)
}
