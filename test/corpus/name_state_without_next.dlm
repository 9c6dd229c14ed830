// expect: DLM2028 4:31
block Cell(n: int) {
  input x: f32[B, X]
  state h: f32[B, n] = zeros, c: f32[B, n] = zeros
  next h = tanh(linear(x, n) + h)
  output h
}
model M(T: dim = 5) {
  input xs: f32[B, T, 4]
  output y = scan(xs, Cell(8), axis: 1)
}
