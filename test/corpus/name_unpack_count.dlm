// expect: DLM2019 4:10
model M {
  input x: f32[B, 12]
  a, b = split(x, 3, axis: -1)
  output y = a + b
}
