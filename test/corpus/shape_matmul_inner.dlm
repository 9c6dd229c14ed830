// expect: DLM3105 4:14
model M {
  input a: f32[B, 4, 5], b: f32[B, 6, 7]
  output y = a @ b
}
