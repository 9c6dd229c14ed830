// expect: DLM3105 4:24
model M {
  input a: f32[B, 3, 8], b: f32[B, 4, 9]
  output y = concat(a, b, axis: 1)
}
