// expect: DLM2006 6:7
block Dense(n: int) {
  input x: f32[B, X]
  output relu(linear(x, n))
}
block Dense(n: int) {
  input x: f32[B, X]
  output tanh(linear(x, n))
}
model M {
  input x: f32[B, 4]
  output y = Dense(x, 3)
}
