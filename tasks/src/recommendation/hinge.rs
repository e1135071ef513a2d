//! The shallow model's minibatch loss and its gradient, written by hand:
//! hinge → cosine → row normalisation → ReLU → linear. Kept apart from the
//! training loop so the test can check every partial derivative against
//! central finite differences.

use super::shallow::ItemSide;
use ndarray::{Array1, Array2, ArrayView1, Axis};

/// Trainable parameters; the arrays of the side not in use are empty.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Params {
    /// User vectors, users × dim.
    pub users: Array2<f64>,
    /// Projection, features × dim (content side).
    pub w: Array2<f64>,
    /// Projection bias, dim (content side; zeros and untouched otherwise).
    pub b: Array1<f64>,
    /// Free item vectors, items × dim (collaborative side).
    pub free: Array2<f64>,
}

impl Params {
    pub fn zeros_like(&self) -> Params {
        Params {
            users: Array2::zeros(self.users.dim()),
            w: Array2::zeros(self.w.dim()),
            b: Array1::zeros(self.b.len()),
            free: Array2::zeros(self.free.dim()),
        }
    }

    pub fn fill(&mut self, value: f64) {
        self.users.fill(value);
        self.w.fill(value);
        self.b.fill(value);
        self.free.fill(value);
    }
}

/// Rows scaled to unit length, and the norms. A zero row stays zero: its
/// cosine is taken as 0 and passes no gradient (see [`through_unit`]).
fn unit(x: Array2<f64>) -> (Array2<f64>, Vec<f64>) {
    let mut x = x;
    let norms = x
        .rows_mut()
        .into_iter()
        .map(|mut row| {
            let n = row.dot(&row).sqrt();
            if n > 0.0 {
                row /= n;
            }
            n
        })
        .collect();
    (x, norms)
}

/// Gradient with respect to `x` from the gradient `g` with respect to
/// `v = x / ‖x‖`: `(g − (g·v) v) / ‖x‖` (the Jacobian of the
/// normalisation is `(I − v vᵀ) / ‖x‖`); zero for a zero row.
fn through_unit(mut g: Array2<f64>, v: &Array2<f64>, norms: &[f64]) -> Array2<f64> {
    for ((mut g, v), &n) in g.rows_mut().into_iter().zip(v.rows()).zip(norms) {
        if n > 0.0 {
            let along = g.dot(&v);
            g.scaled_add(-along, &v);
            g /= n;
        } else {
            g.fill(0.0);
        }
    }
    g
}

/// Index of `x` in the sorted, deduplicated `list` it was collected from.
fn local(list: &[usize], x: usize) -> usize {
    list.partition_point(|&y| y < x)
}

/// Mean over `pairs` of `Σ_j max(0, margin − cos(u, z_i) + cos(u′_j, z_i))`,
/// the negatives of pair `q` being `negs[q·n .. (q+1)·n]`; adds its
/// gradient to `g`. A hinge exactly at 0 passes no gradient, as does a
/// ReLU unit exactly at 0 (PyTorch's conventions).
pub(super) fn loss_and_grad(
    p: &Params,
    side: &ItemSide,
    pairs: &[(usize, usize)],
    negs: &[usize],
    margin: f64,
    g: &mut Params,
) -> f64 {
    if pairs.is_empty() {
        return 0.0;
    }
    let per_pair = negs.len() / pairs.len();
    let mut items: Vec<usize> = pairs.iter().map(|&(_, i)| i).collect();
    items.sort_unstable();
    items.dedup();
    let mut users: Vec<usize> = pairs
        .iter()
        .map(|&(u, _)| u)
        .chain(negs.iter().copied())
        .collect();
    users.sort_unstable();
    users.dedup();
    // Content: keep the batch's inputs and pre-activations for the backward pass.
    let (linear, z) = match side {
        ItemSide::Content(x) => {
            let xb = x.select(Axis(0), &items);
            let a = xb.dot(&p.w) + &p.b;
            let z = a.mapv(|v| v.max(0.0));
            (Some((xb, a)), z)
        }
        ItemSide::Collaborative { .. } => (None, p.free.select(Axis(0), &items)),
    };
    let (zh, z_norms) = unit(z);
    let (uh, u_norms) = unit(p.users.select(Axis(0), &users));
    let mut g_zh = Array2::<f64>::zeros(zh.dim());
    let mut g_uh = Array2::<f64>::zeros(uh.dim());
    let scale = 1.0 / pairs.len() as f64;
    let mut loss = 0.0;
    for (q, &(u, i)) in pairs.iter().enumerate() {
        let (lu, li) = (local(&users, u), local(&items, i));
        let zi: ArrayView1<f64> = zh.row(li);
        let s_pos = uh.row(lu).dot(&zi);
        for &n in &negs[q * per_pair..(q + 1) * per_pair] {
            let ln = local(&users, n);
            let h = margin - s_pos + uh.row(ln).dot(&zi);
            if h > 0.0 {
                loss += h;
                // ∂h/∂ẑ_i = û′ − û, ∂h/∂û = −ẑ_i, ∂h/∂û′ = ẑ_i.
                g_zh.row_mut(li).scaled_add(scale, &uh.row(ln));
                g_zh.row_mut(li).scaled_add(-scale, &uh.row(lu));
                g_uh.row_mut(lu).scaled_add(-scale, &zi);
                g_uh.row_mut(ln).scaled_add(scale, &zi);
            }
        }
    }
    let g_u = through_unit(g_uh, &uh, &u_norms);
    for (r, &u) in users.iter().enumerate() {
        let mut dst = g.users.row_mut(u);
        dst += &g_u.row(r);
    }
    let g_z = through_unit(g_zh, &zh, &z_norms);
    match linear {
        Some((xb, a)) => {
            let mut g_a = g_z;
            g_a.zip_mut_with(&a, |g, &a| {
                if a <= 0.0 {
                    *g = 0.0
                }
            });
            g.w += &xb.t().dot(&g_a);
            g.b += &g_a.sum_axis(Axis(0));
        }
        None => {
            for (r, &i) in items.iter().enumerate() {
                let mut dst = g.free.row_mut(i);
                dst += &g_z.row(r);
            }
        }
    }
    loss * scale
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng as _;
    use repbench_framework::seed;

    fn random(rows: usize, cols: usize, rng: &mut seed::Rng) -> Array2<f64> {
        Array2::from_shape_fn((rows, cols), |_| rng.gen_range(-1.0..1.0))
    }

    /// Parameter `k` of field `field` (users, w, b, free).
    fn entry(q: &mut Params, field: usize, k: usize) -> &mut f64 {
        let slice = match field {
            0 => q.users.as_slice_mut(),
            1 => q.w.as_slice_mut(),
            2 => q.b.as_slice_mut(),
            _ => q.free.as_slice_mut(),
        };
        &mut slice.unwrap()[k]
    }

    /// Every parameter's analytic partial derivative against the central
    /// difference `(L(θ + h) − L(θ − h)) / 2h`, whose error (h² terms and
    /// rounding) is far below the tolerance: a wrong term in any
    /// derivative (a missing projection in the normalisation, a ReLU mask
    /// on the wrong side, a sign) is off by orders of magnitude more.
    fn check(p: &Params, side: &ItemSide, pairs: &[(usize, usize)], negs: &[usize], margin: f64) {
        let mut g = p.zeros_like();
        loss_and_grad(p, side, pairs, negs, margin, &mut g);
        let loss = |q: &Params| loss_and_grad(q, side, pairs, negs, margin, &mut q.zeros_like());
        let h = 1e-6;
        let mut checked = 0;
        for field in 0..4 {
            let n = [p.users.len(), p.w.len(), p.b.len(), p.free.len()][field];
            for k in 0..n {
                let (mut plus, mut minus) = (p.clone(), p.clone());
                *entry(&mut plus, field, k) += h;
                *entry(&mut minus, field, k) -= h;
                let numeric = (loss(&plus) - loss(&minus)) / (2.0 * h);
                let analytic = *entry(&mut g, field, k);
                assert!(
                    (numeric - analytic).abs() < 1e-7,
                    "field {field} entry {k}: finite difference {numeric}, gradient {analytic}"
                );
                checked += 1;
            }
        }
        assert!(checked > 20);
    }

    /// Hinge and ReLU arguments, to keep the check away from kinks and to
    /// make sure both sides of each are exercised.
    fn arguments(
        p: &Params,
        x: Option<&Array2<f64>>,
        pairs: &[(usize, usize)],
        negs: &[usize],
        margin: f64,
    ) -> (Vec<f64>, Vec<f64>) {
        let pre = x.map_or(Array2::zeros((0, 0)), |x| x.dot(&p.w) + &p.b);
        let item = |i: usize| match x {
            Some(_) => pre.row(i).mapv(|v| v.max(0.0)),
            None => p.free.row(i).to_owned(),
        };
        let cos = |u: usize, i: usize| {
            let (a, b) = (p.users.row(u), item(i));
            a.dot(&b) / (a.dot(&a).sqrt() * b.dot(&b).sqrt())
        };
        let per = negs.len() / pairs.len();
        let hinges = pairs
            .iter()
            .enumerate()
            .flat_map(|(q, &(u, i))| {
                negs[q * per..(q + 1) * per]
                    .iter()
                    .map(move |&n| margin - cos(u, i) + cos(n, i))
            })
            .collect();
        (hinges, pre.iter().copied().collect())
    }

    #[test]
    fn gradients_match_central_differences() {
        let mut rng = seed::rng(21, &["hinge-gradient"]);
        let (n_users, n_items, features, dim) = (5, 6, 4, 3);
        let x = random(n_items, features, &mut rng);
        // Item 2 twice (its gradient sums over pairs), user 0 twice, and
        // user 1 both a positive and a negative.
        let pairs = [(0, 2), (1, 2), (0, 4), (3, 5)];
        let negs = [3, 4, 1, 2, 4, 1, 0, 2];
        let margin = 0.3;
        let content = Params {
            users: random(n_users, dim, &mut rng),
            w: random(features, dim, &mut rng),
            b: Array1::from_shape_fn(dim, |_| rng.gen_range(-0.5..0.5)),
            free: Array2::zeros((0, dim)),
        };
        let collaborative = Params {
            w: Array2::zeros((0, dim)),
            free: random(n_items, dim, &mut rng),
            ..content.clone()
        };
        for (p, side, xs) in [
            (&content, ItemSide::Content(x.view()), Some(&x)),
            (&collaborative, ItemSide::Collaborative { n_items }, None),
        ] {
            let (hinges, pre) = arguments(p, xs, &pairs, &negs, margin);
            assert!(
                hinges.iter().chain(&pre).all(|v| v.abs() > 1e-3),
                "too near a kink: {hinges:?} {pre:?}"
            );
            assert!(
                hinges.iter().any(|&h| h > 0.0) && hinges.iter().any(|&h| h < 0.0),
                "{hinges:?}"
            );
            if xs.is_some() {
                assert!(
                    pre.iter().any(|&a| a > 0.0) && pre.iter().any(|&a| a < 0.0),
                    "{pre:?}"
                );
            }
            check(p, &side, &pairs, &negs, margin);
        }
    }
}
