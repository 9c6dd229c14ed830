// expect: DLM1003 6:1
model M {
  input x: f32[B, 4]
  output y = relu(x)
}
/* a comment that never ends

