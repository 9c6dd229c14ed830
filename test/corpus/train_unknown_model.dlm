// expect: DLM4001 6:7
model M {
  input x: f32[B, 4]
  output y = linear(x, 3)
}
train N {
  loss = mean(y)
}
