// expect: DLM2027 6:8
block Cell(n: int) {
  input x: f32[B, X]
  state h: f32[B, n] = zeros
  next h = tanh(linear(x, n) + h)
  next c = h
  output h
}
model M(T: dim = 5) {
  input xs: f32[B, T, 4]
  output y = scan(xs, Cell(8), axis: 1)
}
