// expect: DLM1004 4:27
model M {
  input x: f32[B, 4]
  output y = x |> relu |> 
}
