// expect: DLM2002 4:19
model M {
  input x: f32[B, 4]
  output y = x |> rleu
}
