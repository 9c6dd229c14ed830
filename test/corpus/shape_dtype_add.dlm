// expect: DLM3102 4:14
model M {
  input x: f32[B, 4], ids: i64[B, 4]
  output y = x + ids
}
