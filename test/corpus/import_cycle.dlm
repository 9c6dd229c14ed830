// expect: DLM2011 lib/cycle_b.dlm 2:8
import "./lib/cycle_a.dlm"
model M {
  input x: f32[B, 4]
  output y = relu(x)
}
