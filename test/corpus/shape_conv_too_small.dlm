// expect: DLM3105 4:35
model M {
  input x: f32[B, 3, 4, 4]
  output y = x |> conv2d(8, 3) |> conv2d(8, 3)
}
