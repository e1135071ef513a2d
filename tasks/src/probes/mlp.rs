//! Multi-layer perceptron probe, pure Rust (no libtorch needed).
//!
//! HEAR's downstream protocol (Turian et al., 2022): hidden layers of 1024
//! units with ReLU and dropout 0.1, Adam (Kingma & Ba, 2015), a grid over
//! learning rates {3.2e-3, 1e-3, 3.2e-4, 1e-4} and 1 or 2 hidden layers,
//! early stopping on the validation score with the **best** epoch's weights
//! restored (not the last). Losses: softmax cross-entropy (multiclass),
//! sigmoid binary cross-entropy (multilabel), squared error on
//! standardised targets (regression).

use super::{positive_grid, select_best, Candidate, FitData, Fitted, Predictor};
use crate::suite::selection_score;
use crate::targets::{Scores, Targets};
use ndarray::{Array1, Array2, ArrayView2, Axis};
use rand::seq::SliceRandom;
use rand::Rng as _;
use repbench_framework::seed;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

fn d_lrs() -> Vec<f64> {
    vec![3.2e-3, 1e-3, 3.2e-4, 1e-4]
}
fn d_layers() -> Vec<usize> {
    vec![1, 2]
}
fn d_hidden() -> usize {
    1024
}
fn d_dropout() -> f64 {
    0.1
}
fn d_max_epochs() -> usize {
    200
}
fn d_patience() -> usize {
    20
}
fn d_batch() -> usize {
    1024
}

/// Options of the `mlp` probe (defaults: HEAR's grid).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MlpParams {
    /// Adam learning rates tried.
    #[serde(default = "d_lrs")]
    pub learning_rates: Vec<f64>,
    /// Hidden-layer counts tried.
    #[serde(default = "d_layers")]
    pub hidden_layers: Vec<usize>,
    /// Units per hidden layer.
    #[serde(default = "d_hidden")]
    pub hidden_units: usize,
    /// Dropout probability after each hidden layer.
    #[serde(default = "d_dropout")]
    pub dropout: f64,
    /// Epoch limit.
    #[serde(default = "d_max_epochs")]
    pub max_epochs: usize,
    /// Epochs without a better validation score before stopping.
    #[serde(default = "d_patience")]
    pub patience: usize,
    /// Mini-batch size.
    #[serde(default = "d_batch")]
    pub batch_size: usize,
}

impl Default for MlpParams {
    fn default() -> Self {
        MlpParams {
            learning_rates: d_lrs(),
            hidden_layers: d_layers(),
            hidden_units: d_hidden(),
            dropout: d_dropout(),
            max_epochs: d_max_epochs(),
            patience: d_patience(),
            batch_size: d_batch(),
        }
    }
}

impl MlpParams {
    pub(crate) fn check(&self) -> Result<(), (&'static str, String)> {
        positive_grid("learning_rates", &self.learning_rates)?;
        if self.hidden_layers.is_empty() || self.hidden_layers.iter().any(|&l| l == 0 || l > 8) {
            return Err((
                "hidden_layers",
                format!("must list counts in 1..=8 (got {:?})", self.hidden_layers),
            ));
        }
        let checks: [(&'static str, bool, String); 5] = [
            (
                "hidden_units",
                (1..=65536).contains(&self.hidden_units),
                format!("must be in 1..=65536 (got {})", self.hidden_units),
            ),
            (
                "dropout",
                (0.0..1.0).contains(&self.dropout),
                format!("must be in [0, 1) (got {})", self.dropout),
            ),
            (
                "max_epochs",
                (1..=100_000).contains(&self.max_epochs),
                format!("must be in 1..=100000 (got {})", self.max_epochs),
            ),
            ("patience", self.patience >= 1, "must be at least 1".into()),
            (
                "batch_size",
                (1..=1_000_000).contains(&self.batch_size),
                format!("must be in 1..=1000000 (got {})", self.batch_size),
            ),
        ];
        match checks.into_iter().find(|(_, ok, _)| !ok) {
            Some((field, _, why)) => Err((field, why)),
            None => Ok(()),
        }
    }
}

#[derive(Clone)]
struct Layer {
    w: Array2<f32>,
    b: Array1<f32>,
}

/// Adam moment estimates for one layer.
struct Moments {
    mw: Array2<f32>,
    vw: Array2<f32>,
    mb: Array1<f32>,
    vb: Array1<f32>,
}

#[derive(Clone, Copy, PartialEq)]
enum Loss {
    Softmax,
    Sigmoid,
    Squared,
}

#[derive(Clone)]
struct Network {
    layers: Vec<Layer>,
    loss: Loss,
    /// Regression targets are standardised for training; predictions undo it.
    y_mean: f64,
    y_scale: f64,
    template: Targets,
}

impl Network {
    /// Hidden activations (post-ReLU) per layer and the output logits.
    fn forward(&self, x: &Array2<f32>) -> (Vec<Array2<f32>>, Array2<f32>) {
        let mut acts = Vec::with_capacity(self.layers.len());
        let mut h = x.clone();
        for (i, layer) in self.layers.iter().enumerate() {
            let mut z = h.dot(&layer.w) + &layer.b;
            if i + 1 < self.layers.len() {
                z.mapv_inplace(|v| v.max(0.0));
                acts.push(z.clone());
            }
            h = z;
        }
        (acts, h)
    }

    fn output(&self, logits: Array2<f32>) -> Array2<f64> {
        let mut out = logits.mapv(f64::from);
        match self.loss {
            Loss::Softmax => softmax_rows(&mut out),
            Loss::Sigmoid => out.mapv_inplace(|v| 1.0 / (1.0 + (-v).exp())),
            Loss::Squared => out.mapv_inplace(|v| v * self.y_scale + self.y_mean),
        }
        out
    }
}

impl Predictor for Network {
    fn predict(&self, x: ArrayView2<f64>) -> Scores {
        let (_, logits) = self.forward(&x.mapv(|v| v as f32));
        self.template.scores_from_dense(self.output(logits))
    }
}

fn softmax_rows(m: &mut Array2<f64>) {
    for mut row in m.rows_mut() {
        let max = row.fold(f64::NEG_INFINITY, |a, &b| a.max(b));
        row.mapv_inplace(|v| (v - max).exp());
        let sum = row.sum();
        row /= sum;
    }
}

/// PyTorch's `nn.Linear` default initialisation: U(−1/√fan_in, 1/√fan_in).
fn init_layer(fan_in: usize, fan_out: usize, rng: &mut seed::Rng) -> Layer {
    let bound = 1.0 / (fan_in as f32).sqrt();
    Layer {
        w: Array2::from_shape_fn((fan_in, fan_out), |_| rng.gen_range(-bound..bound)),
        b: Array1::from_shape_fn(fan_out, |_| rng.gen_range(-bound..bound)),
    }
}

const BETA1: f32 = 0.9;
const BETA2: f32 = 0.999;
const EPS: f32 = 1e-8;

fn adam_step(
    layer: &mut Layer,
    m: &mut Moments,
    gw: &Array2<f32>,
    gb: &Array1<f32>,
    lr: f32,
    t: i32,
) {
    let c1 = 1.0 - BETA1.powi(t);
    let c2 = 1.0 - BETA2.powi(t);
    ndarray::Zip::from(&mut layer.w)
        .and(&mut m.mw)
        .and(&mut m.vw)
        .and(gw)
        .for_each(|w, mw, vw, &g| {
            *mw = BETA1 * *mw + (1.0 - BETA1) * g;
            *vw = BETA2 * *vw + (1.0 - BETA2) * g * g;
            *w -= lr * (*mw / c1) / ((*vw / c2).sqrt() + EPS);
        });
    ndarray::Zip::from(&mut layer.b)
        .and(&mut m.mb)
        .and(&mut m.vb)
        .and(gb)
        .for_each(|b, mb, vb, &g| {
            *mb = BETA1 * *mb + (1.0 - BETA1) * g;
            *vb = BETA2 * *vb + (1.0 - BETA2) * g * g;
            *b -= lr * (*mb / c1) / ((*vb / c2).sqrt() + EPS);
        });
}

/// Mean validation loss of `outputs` (probabilities or values in target
/// units): cross-entropy, binary cross-entropy, or squared error on the
/// standardised scale.
fn mean_loss(loss: Loss, outputs: &Array2<f64>, y: &Array2<f64>, y_scale: f64) -> f64 {
    const FLOOR: f64 = 1e-12;
    let total: f64 = match loss {
        Loss::Softmax => ndarray::Zip::from(outputs)
            .and(y)
            .fold(0.0, |acc, &p, &t| acc - t * p.max(FLOOR).ln()),
        Loss::Sigmoid => ndarray::Zip::from(outputs).and(y).fold(0.0, |acc, &p, &t| {
            acc - t * p.max(FLOOR).ln() - (1.0 - t) * (1.0 - p).max(FLOOR).ln()
        }),
        Loss::Squared => ndarray::Zip::from(outputs)
            .and(y)
            .fold(0.0, |acc, &p, &t| acc + ((p - t) / y_scale).powi(2)),
    };
    total / outputs.nrows().max(1) as f64
}

/// Trains one network; returns the best-validation-epoch weights and that epoch.
fn train(
    params: &MlpParams,
    lr: f64,
    n_hidden: usize,
    data: &FitData<'_>,
    rng: &mut seed::Rng,
) -> (Network, usize) {
    let x = data.x_train;
    let mut y = data.t_train.dense();
    let loss = match data.t_train {
        Targets::Classes { .. } => Loss::Softmax,
        Targets::Tags { .. } => Loss::Sigmoid,
        Targets::Values(_) => Loss::Squared,
    };
    let (mut y_mean, mut y_scale) = (0.0, 1.0);
    if loss == Loss::Squared {
        y_mean = y.mean().unwrap_or(0.0);
        y_scale = y.std(0.0).max(1e-12);
        y.mapv_inplace(|v| (v - y_mean) / y_scale);
    }
    let y = y.mapv(|v| v as f32);
    let mut sizes = vec![x.ncols()];
    sizes.extend(std::iter::repeat_n(params.hidden_units, n_hidden));
    sizes.push(y.ncols());
    let layers: Vec<Layer> = sizes
        .windows(2)
        .map(|w| init_layer(w[0], w[1], rng))
        .collect();
    let mut moments: Vec<Moments> = layers
        .iter()
        .map(|l| Moments {
            mw: Array2::zeros(l.w.dim()),
            vw: Array2::zeros(l.w.dim()),
            mb: Array1::zeros(l.b.len()),
            vb: Array1::zeros(l.b.len()),
        })
        .collect();
    let mut net = Network {
        layers,
        loss,
        y_mean,
        y_scale,
        template: data.t_train.select(&[]),
    };
    let keep = 1.0 - params.dropout as f32;
    let mut best = (net.clone(), 0usize, f64::NEG_INFINITY, f64::INFINITY);
    let x_valid = data.x_valid.mapv(|v| v as f32);
    let y_valid = data.t_valid.dense();
    let mut order: Vec<usize> = (0..x.nrows()).collect();
    let mut step = 0;
    let mut since_best = 0;
    for epoch in 1..=params.max_epochs {
        order.shuffle(rng);
        for batch in order.chunks(params.batch_size) {
            // Gathered per batch: no float32 copy of the training split.
            let xb = x.select_f32(batch);
            let yb = y.select(Axis(0), batch);
            // Forward with dropout masks (inverted dropout: scale at train time).
            let mut inputs = vec![xb];
            let mut masks = Vec::new();
            for layer in &net.layers[..net.layers.len() - 1] {
                let mut z = inputs.last().expect("input present").dot(&layer.w) + &layer.b;
                let mask = Array2::from_shape_fn(z.dim(), |_| {
                    if rng.gen::<f32>() < keep {
                        1.0 / keep
                    } else {
                        0.0
                    }
                });
                z.zip_mut_with(&mask, |v, &m| *v = v.max(0.0) * m);
                masks.push(mask);
                inputs.push(z);
            }
            let last = net.layers.last().expect("at least one layer");
            let logits = inputs.last().expect("hidden output").dot(&last.w) + &last.b;
            let bsz = batch.len() as f32;
            let mut delta = match loss {
                Loss::Softmax => {
                    let mut p = logits.mapv(f64::from);
                    softmax_rows(&mut p);
                    (p.mapv(|v| v as f32) - &yb) / bsz
                }
                Loss::Sigmoid => (logits.mapv(|v| 1.0 / (1.0 + (-v).exp())) - &yb) / bsz,
                Loss::Squared => (logits - &yb) / bsz,
            };
            step += 1;
            for li in (0..net.layers.len()).rev() {
                let gw = inputs[li].t().dot(&delta);
                let gb = delta.sum_axis(Axis(0));
                if li > 0 {
                    let mut back = delta.dot(&net.layers[li].w.t());
                    // ReLU and dropout: gradient flows where the unit was active and kept.
                    back.zip_mut_with(&inputs[li], |g, &a| {
                        if a <= 0.0 {
                            *g = 0.0
                        }
                    });
                    back.zip_mut_with(&masks[li - 1], |g, &m| *g *= m);
                    delta = back;
                }
                adam_step(
                    &mut net.layers[li],
                    &mut moments[li],
                    &gw,
                    &gb,
                    lr as f32,
                    step,
                );
            }
        }
        let (_, logits) = net.forward(&x_valid);
        let outputs = net.output(logits);
        let score = selection_score(
            data.t_valid,
            &data.t_valid.scores_from_dense(outputs.clone()),
        );
        let valid_loss = mean_loss(loss, &outputs, &y_valid, net.y_scale);
        // Coarse scores (accuracy on a small split) plateau; the validation
        // loss breaks ties so progress on a plateau still counts.
        if score > best.2 || (score == best.2 && valid_loss < best.3) {
            best = (net.clone(), epoch, score, valid_loss);
            since_best = 0;
        } else {
            since_best += 1;
            if since_best >= params.patience {
                break;
            }
        }
    }
    (best.0, best.1)
}

/// Trains the grid (seeded per grid point) and keeps the best on validation.
pub fn fit_select(
    params: &MlpParams,
    data: &FitData<'_>,
    seed_value: u64,
) -> Result<Fitted, String> {
    if data.x_train.nrows() == 0 {
        return Err("no training items".into());
    }
    let grid: Vec<(f64, usize)> = params
        .hidden_layers
        .iter()
        .flat_map(|&l| params.learning_rates.iter().map(move |&lr| (lr, l)))
        .collect();
    select_best(
        data,
        grid.into_iter().map(|(lr, layers)| {
            let mut rng = seed::rng(
                seed_value,
                &["mlp", &format!("{lr:e}"), &layers.to_string()],
            );
            let (net, epoch) = train(params, lr, layers, data, &mut rng);
            let params = BTreeMap::from([
                ("learning_rate".to_string(), lr),
                ("hidden_layers".to_string(), layers as f64),
                ("best_epoch".to_string(), epoch as f64),
            ]);
            Ok::<Candidate, String>((params, Box::new(net) as Box<dyn Predictor>))
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probes::{BlockBuffers, TrainRows};
    use crate::standardize::Standardizer;

    /// Under `low_memory` the MLP gathers each minibatch from the float32
    /// rows, standardised as read; it must train the same network.
    #[test]
    fn rows_read_lazily_train_the_same_network() {
        let x = Array2::from_shape_fn((90, 5), |(i, j)| {
            ((i * 37 + j * 11) % 17) as f32 / 4.0 + (i % 3) as f32 * (j as f32 - 2.0)
        });
        let class = |i: usize| i % 3;
        let train: Vec<usize> = (0..60).rev().collect();
        let valid: Vec<usize> = (60..90).collect();
        let targets = |rows: &[usize]| Targets::Classes {
            y: rows.iter().map(|&i| class(i)).collect(),
            names: vec!["a".into(), "b".into(), "c".into()],
        };
        let (t_train, t_valid) = (targets(&train), targets(&valid));
        let standardizer = Standardizer::fit_rows(x.view(), &train);
        let dense = standardizer.rows(x.view(), &train);
        let x_valid = standardizer.rows(x.view(), &valid);
        let buffers = BlockBuffers::default();
        let params = MlpParams {
            learning_rates: vec![1e-2],
            hidden_layers: vec![1],
            hidden_units: 8,
            max_epochs: 6,
            batch_size: 16,
            ..MlpParams::default()
        };
        let predictions = |x_train| {
            let data = FitData {
                x_train,
                t_train: &t_train,
                x_valid: x_valid.view(),
                t_valid: &t_valid,
            };
            let fitted = fit_select(&params, &data, 5).unwrap();
            (
                fitted.params,
                format!("{:?}", fitted.model.predict(x_valid.view())),
            )
        };
        let lazy = TrainRows::Lazy {
            x: x.view(),
            rows: &train,
            standardizer: &standardizer,
            buffers: &buffers,
        };
        assert_eq!(predictions(lazy), predictions(dense.view().into()));
    }
}
