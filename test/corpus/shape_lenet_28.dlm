// expect: DLM3101 7:13
// LeNet written for 32x32 inputs, fed 28x28 MNIST
model LeNet(classes: int = 10) {
  input x: f32[B, 1, 28, 28]
  features = x |> conv2d(6, 5) |> relu |> maxpool2d(2)
    |> conv2d(16, 5) |> relu |> maxpool2d(2)
  h: f32[B, 400] = flatten(features)
  output logits = h |> linear(120) |> relu |> linear(classes)
}
