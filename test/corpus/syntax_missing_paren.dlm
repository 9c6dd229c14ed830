// expect: DLM1004 5:19
// a forgotten comma: the parser names the token it found
model M {
  input x: f32[B, 4]
  h = linear(x, 8 kernel: 3)
  output y = relu(h)
}
