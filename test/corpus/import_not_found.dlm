// expect: DLM2009 2:8
import "./no_such_file.dlm"
model M {
  input x: f32[B, 4]
  output y = relu(x)
}
