// expect: DLM4005 8:11
model M {
  input x: f32[B, 4]
  output y = linear(x, 3)
}
train M {
  loss = mean(y)
  batch = -1
}
