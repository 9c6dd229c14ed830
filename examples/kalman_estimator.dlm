// seed 000 "RNN Systems POV" (~L3–27): IIR filters carry a state; Kalman filtering of
// x_{t+1} = A x_t + B_u u_t + w_t, y_{t+1} = C x_{t+1} + v_t gives the linear estimator
// x̂_{t+1} = Â x̂_t + B̂_u u_t + B̂_y y_{t+1}, whose matrices "could be learnable".

/// One step of the learnable linear state-space estimator: the next state estimate mixes
/// the previous estimate, the control input and the new measurement, with learned Â, B̂_u,
/// B̂_y (the steady-state Kalman gain folded in), and predicts the measurement with Ĉ.
/// The initial estimate x̂₀ is learned too (`= learned`: a parameter xh0 of size n).
block EstimatorCell(n: int) {
  input u: f32[B, U], y: f32[B, Y]
  state xh: f32[B, n] = learned
  param A: f32[n, n] = orthogonal
  param Bu: f32[U, n] = xavier_uniform
  param By: f32[Y, n] = xavier_uniform
  param C: f32[n, Y] = xavier_uniform
  prior = xh @ A + u @ Bu                    // Â x̂_t + B̂_u u_t (row vectors)
  x_next = prior + y @ By                    // x̂_{t+1} = Â x̂_t + B̂_u u_t + B̂_y y_{t+1}
  next xh = x_next
  output x_next
  output y_pred = prior @ C                  // one-step-ahead prediction of y_{t+1} before seeing it
}

/// A learnable linear state-space filter (a "Kalman-style" estimator trained end to end):
/// scan the estimator over the control inputs u_t and the measurements y_{t+1}, and train
/// the one-step-ahead measurement predictions against the actual measurements. With n = 4,
/// 2 inputs and 3 outputs: 16 + 8 + 12 + 12 + 4 (x̂₀) = 52 parameters.
model KalmanEstimator(n: int = 4, controls: int = 2, measurements: int = 3, T: dim = 200) {
  input u: f32[B, T, controls], y_next: f32[B, T, measurements]
  states, y_pred = scan((u, y_next), EstimatorCell(n), axis: 1) as estimator
  output states
  output y_pred
}

train KalmanEstimator {
  loss = mse_loss(y_pred, y_next)            // innovation (prediction error) energy
  optimizer = adam(lr: 1e-2)
  batch = 16
  epochs = 100
}
