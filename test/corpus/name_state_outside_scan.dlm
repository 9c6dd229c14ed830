// expect: DLM2026 10:14
block Acc(n: int) {
  input x: f32[B, X]
  state h: f32[B, n] = zeros
  next h = h + linear(x, n)
  output h
}
model M {
  input x: f32[B, 4]
  output y = Acc(x, 4)
}
