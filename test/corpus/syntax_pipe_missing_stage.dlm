// expect: DLM1004 5:1
model M {
  input x: f32[B, 4]
  output y = x |> relu |> 
}
