// expect: DLM3105 4:25
model M {
  input x: f32[B, 3, 10]
  output y = reshape(x, [B, 4, 8])
}
