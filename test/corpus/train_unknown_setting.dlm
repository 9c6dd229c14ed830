// expect: DLM4003 8:3
model M {
  input x: f32[B, 4]
  output y = linear(x, 3)
}
train M {
  loss = mean(y)
  epoch = 3
}
