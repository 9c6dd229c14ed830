// expect: DLM1004 5:19
// expect: DLM1004 7:19
model M {
  input x: f32[B, 4]
  h = linear(x, 8 16)
  g = relu(h)
  k = linear(g, 4 ]
  output y = k
}
