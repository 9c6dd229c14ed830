// expect: DLM2010 2:8
import "../../../../../../../../etc/hostname"
model M {
  input x: f32[B, 4]
  output y = relu(x)
}
