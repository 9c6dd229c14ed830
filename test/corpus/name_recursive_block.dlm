// expect: DLM2008 4:10
block Forever(n: int) {
  input x: f32[B, X]
  output Forever(x, n)
}
model M {
  input x: f32[B, 4]
  output y = Forever(x, 3)
}
