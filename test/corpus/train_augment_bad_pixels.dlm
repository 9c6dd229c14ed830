// expect: DLM4005 9:14
model M {
  input x: f32[B, 1, 8, 8]
  output y = linear(flatten(x), 3)
}
train M {
  loss = mean(y)
  // a shift of zero pixels changes nothing: almost certainly a mistake
  augment = [random_shift(0), random_flip()]
}
