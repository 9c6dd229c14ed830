// expect: DLM4005 8:13
model M {
  input x: f32[B, 4]
  output y = linear(x, 3)
}
train M {
  loss = mean(y)
  augment = random_shift(2)
}
