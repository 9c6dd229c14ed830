// expect: DLM3111 4:14
model M {
  input a: f32[B, 3], b: f32[B, 4]
  output y = a * b
}
