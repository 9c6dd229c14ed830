// expect: DLM2018 4:31
model M(widths: list[int] = [8, 4]) {
  input x: f32[B, 4]
  output y = linear(x, widths[5])
}
