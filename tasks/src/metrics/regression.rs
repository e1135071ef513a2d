//! Regression metrics over predicted and true values.

/// Coefficient of determination `1 − Σ(y − ŷ)² / Σ(y − ȳ)²` (sklearn
/// `r2_score`). A constant truth gives 1 for a perfect prediction, else 0,
/// as scikit-learn does.
pub fn r2(y_true: &[f64], y_pred: &[f64]) -> f64 {
    let n = y_true.len() as f64;
    let mean = y_true.iter().sum::<f64>() / n;
    let ss_res: f64 = y_true
        .iter()
        .zip(y_pred)
        .map(|(t, p)| (t - p).powi(2))
        .sum();
    let ss_tot: f64 = y_true.iter().map(|t| (t - mean).powi(2)).sum();
    if ss_tot == 0.0 {
        return if ss_res == 0.0 { 1.0 } else { 0.0 };
    }
    1.0 - ss_res / ss_tot
}

/// Root mean squared error.
pub fn rmse(y_true: &[f64], y_pred: &[f64]) -> f64 {
    let mse = y_true
        .iter()
        .zip(y_pred)
        .map(|(t, p)| (t - p).powi(2))
        .sum::<f64>()
        / y_true.len() as f64;
    mse.sqrt()
}

/// Mean absolute error.
pub fn mae(y_true: &[f64], y_pred: &[f64]) -> f64 {
    y_true
        .iter()
        .zip(y_pred)
        .map(|(t, p)| (t - p).abs())
        .sum::<f64>()
        / y_true.len() as f64
}

/// Pearson correlation coefficient (`scipy.stats.pearsonr`); 0 when either
/// side is constant (undefined correlation, reported as no correlation).
pub fn pearson_r(y_true: &[f64], y_pred: &[f64]) -> f64 {
    let n = y_true.len() as f64;
    let (mt, mp) = (
        y_true.iter().sum::<f64>() / n,
        y_pred.iter().sum::<f64>() / n,
    );
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (t, p) in y_true.iter().zip(y_pred) {
        sxy += (t - mt) * (p - mp);
        sxx += (t - mt).powi(2);
        syy += (p - mp).powi(2);
    }
    if sxx == 0.0 || syy == 0.0 {
        return 0.0;
    }
    sxy / (sxx * syy).sqrt()
}

#[cfg(test)]
mod tests {
    use super::super::reference_cases;
    use super::*;

    #[test]
    fn regression_metrics_equal_scikit_learn() {
        let cases = reference_cases("regression");
        assert!(!cases.is_empty());
        for case in cases {
            let t: Vec<f64> = serde_json::from_value(case["y_true"].clone()).unwrap();
            let p: Vec<f64> = serde_json::from_value(case["y_pred"].clone()).unwrap();
            for (key, ours) in [
                ("r2", r2(&t, &p)),
                ("rmse", rmse(&t, &p)),
                ("mae", mae(&t, &p)),
                ("pearson_r", pearson_r(&t, &p)),
            ] {
                let theirs = case["expected"][key].as_f64().unwrap();
                assert!(
                    (ours - theirs).abs() < 1e-9,
                    "{key}: ours {ours}, reference {theirs}"
                );
            }
        }
    }

    #[test]
    fn constant_inputs() {
        assert_eq!(r2(&[2.0, 2.0], &[2.0, 2.0]), 1.0);
        assert_eq!(r2(&[2.0, 2.0], &[1.0, 2.0]), 0.0);
        assert_eq!(pearson_r(&[1.0, 2.0], &[3.0, 3.0]), 0.0);
    }
}
