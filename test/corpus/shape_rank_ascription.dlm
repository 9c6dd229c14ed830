// expect: DLM3103 4:6
model M {
  input x: f32[B, 3, 8, 8]
  h: f32[B, 192] = relu(x)
  output y = h
}
