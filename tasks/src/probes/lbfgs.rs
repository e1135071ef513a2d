//! Limited-memory BFGS for smooth convex objectives (the logistic probe).
//!
//! Nocedal & Wright, *Numerical Optimization*, 2nd ed.: two-loop recursion
//! (alg. 7.4) with the initial scaling γ = sᵀy / yᵀy (eq. 7.20), memory 10,
//! and a backtracking line search on the Armijo condition (alg. 3.1).
//! Curvature pairs with sᵀy ≤ 0 are skipped so the update stays positive
//! definite.

/// How a minimisation ended.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Outcome {
    /// Iterations run.
    pub iterations: usize,
    /// Final objective value.
    pub value: f64,
    /// Final gradient ∞-norm.
    pub gradient_norm: f64,
}

const MEMORY: usize = 10;
const ARMIJO: f64 = 1e-4;

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn inf_norm(v: &[f64]) -> f64 {
    v.iter().fold(0.0, |m, x| m.max(x.abs()))
}

/// Minimises `f` from `x` (updated in place). `f` returns the value and
/// writes the gradient. Stops when the gradient ∞-norm is below `tol`, the
/// relative decrease stalls, or after `max_iter` iterations.
pub fn minimize(
    x: &mut [f64],
    max_iter: usize,
    tol: f64,
    mut f: impl FnMut(&[f64], &mut [f64]) -> f64,
) -> Outcome {
    let n = x.len();
    let mut g = vec![0.0; n];
    let mut value = f(x, &mut g);
    let mut history: Vec<(Vec<f64>, Vec<f64>, f64)> = Vec::with_capacity(MEMORY);
    let (mut x_new, mut g_new) = (vec![0.0; n], vec![0.0; n]);
    let mut iterations = 0;
    while iterations < max_iter && inf_norm(&g) > tol {
        iterations += 1;
        // Two-loop recursion: d = −H g.
        let mut d: Vec<f64> = g.iter().map(|v| -v).collect();
        let mut alphas = Vec::with_capacity(history.len());
        for (s, y, rho) in history.iter().rev() {
            let a = rho * dot(s, &d);
            d.iter_mut().zip(y).for_each(|(di, yi)| *di -= a * yi);
            alphas.push(a);
        }
        let gamma = match history.last() {
            Some((s, y, _)) => dot(s, y) / dot(y, y),
            // First step: a unit step along −g scaled to length ≤ 1.
            None => 1.0 / inf_norm(&g).max(1.0),
        };
        d.iter_mut().for_each(|v| *v *= gamma);
        for ((s, y, rho), a) in history.iter().zip(alphas.into_iter().rev()) {
            let b = rho * dot(y, &d);
            d.iter_mut().zip(s).for_each(|(di, si)| *di += (a - b) * si);
        }
        let mut slope = dot(&g, &d);
        if slope >= 0.0 {
            // Not a descent direction (numerical trouble): restart from −g.
            history.clear();
            d = g.iter().map(|v| -v).collect();
            slope = dot(&g, &d);
        }
        let mut step = 1.0;
        let mut accepted = false;
        for _ in 0..40 {
            x_new
                .iter_mut()
                .zip(x.iter())
                .zip(&d)
                .for_each(|((xn, xi), di)| *xn = xi + step * di);
            let v = f(&x_new, &mut g_new);
            if v.is_finite() && v <= value + ARMIJO * step * slope {
                let s: Vec<f64> = x_new.iter().zip(x.iter()).map(|(a, b)| a - b).collect();
                let y: Vec<f64> = g_new.iter().zip(&g).map(|(a, b)| a - b).collect();
                let sy = dot(&s, &y);
                if sy > 1e-12 {
                    if history.len() == MEMORY {
                        history.remove(0);
                    }
                    history.push((s, y, 1.0 / sy));
                }
                let decrease = (value - v) / value.abs().max(v.abs()).max(1.0);
                x.copy_from_slice(&x_new);
                g.copy_from_slice(&g_new);
                value = v;
                accepted = true;
                if decrease < 1e-14 {
                    return Outcome {
                        iterations,
                        value,
                        gradient_norm: inf_norm(&g),
                    };
                }
                break;
            }
            step *= 0.5;
        }
        if !accepted {
            break;
        }
    }
    Outcome {
        iterations,
        value,
        gradient_norm: inf_norm(&g),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimises_rosenbrock_and_a_quadratic() {
        let mut x = vec![-1.2, 1.0];
        let out = minimize(&mut x, 500, 1e-8, |p, g| {
            let (a, b) = (p[0], p[1]);
            g[0] = -2.0 * (1.0 - a) - 400.0 * a * (b - a * a);
            g[1] = 200.0 * (b - a * a);
            (1.0 - a).powi(2) + 100.0 * (b - a * a).powi(2)
        });
        assert!(
            (x[0] - 1.0).abs() < 1e-5 && (x[1] - 1.0).abs() < 1e-5,
            "{x:?} {out:?}"
        );
        let mut q = vec![5.0; 50];
        minimize(&mut q, 200, 1e-10, |p, g| {
            let mut v = 0.0;
            for (i, (pi, gi)) in p.iter().zip(g.iter_mut()).enumerate() {
                let c = (i + 1) as f64;
                *gi = c * (pi - 1.0);
                v += 0.5 * c * (pi - 1.0).powi(2);
            }
            v
        });
        assert!(q.iter().all(|v| (v - 1.0).abs() < 1e-6), "{q:?}");
    }
}
