// expect: DLM3102 4:24
model M {
  input ids: f32[B, T]
  output y = embedding(ids, 1000, 64)
}
