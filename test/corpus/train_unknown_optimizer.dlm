// expect: DLM4004 8:15
model M {
  input x: f32[B, 4]
  output y = linear(x, 3)
}
train M {
  loss = mean(y)
  optimizer = adamm(lr: 1e-3)
}
