//! Regression metrics over predicted and true values.
//!
//! Undefined values are NaN: empty input, R² of a constant truth, a
//! correlation with a constant side. Arguments of different lengths are a
//! caller's bug and panic with a message.

use super::classification::same_length;

/// Coefficient of determination `1 − Σ(y − ŷ)² / Σ(y − ȳ)²` (sklearn
/// `r2_score(..., force_finite=False)`): NaN when the truth is constant
/// (scikit-learn's default would report 1 or 0 there) or empty.
///
/// # Panics
/// If the lengths differ.
pub fn r2(y_true: &[f64], y_pred: &[f64]) -> f64 {
    same_length("r2", y_true.len(), y_pred.len());
    let n = y_true.len() as f64;
    let mean = y_true.iter().sum::<f64>() / n;
    let ss_res: f64 = y_true
        .iter()
        .zip(y_pred)
        .map(|(t, p)| (t - p).powi(2))
        .sum();
    let ss_tot: f64 = y_true.iter().map(|t| (t - mean).powi(2)).sum();
    if ss_tot.is_nan() || ss_tot <= 0.0 {
        return f64::NAN;
    }
    1.0 - ss_res / ss_tot
}

/// Root mean squared error; NaN for empty input.
///
/// # Panics
/// If the lengths differ.
pub fn rmse(y_true: &[f64], y_pred: &[f64]) -> f64 {
    same_length("rmse", y_true.len(), y_pred.len());
    let mse = y_true
        .iter()
        .zip(y_pred)
        .map(|(t, p)| (t - p).powi(2))
        .sum::<f64>()
        / y_true.len() as f64;
    mse.sqrt()
}

/// Mean absolute error; NaN for empty input.
///
/// # Panics
/// If the lengths differ.
pub fn mae(y_true: &[f64], y_pred: &[f64]) -> f64 {
    same_length("mae", y_true.len(), y_pred.len());
    y_true
        .iter()
        .zip(y_pred)
        .map(|(t, p)| (t - p).abs())
        .sum::<f64>()
        / y_true.len() as f64
}

/// Pearson correlation coefficient (`scipy.stats.pearsonr`); NaN when
/// either side is constant or the input is empty, as scipy returns.
///
/// # Panics
/// If the lengths differ.
pub fn pearson_r(y_true: &[f64], y_pred: &[f64]) -> f64 {
    same_length("pearson_r", y_true.len(), y_pred.len());
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
    if !(sxx > 0.0 && syy > 0.0) {
        return f64::NAN;
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
    fn undefined_values_are_nan() {
        // scikit-learn (force_finite=False) and scipy give NaN here too:
        // see `regression` in tests/fixtures/probe_reference.json.
        let r: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/fixtures/probe_reference.json"))
                .unwrap();
        assert!(r["regression"]["constant_truth_r2"].is_null());
        assert!(r["regression"]["constant_prediction_pearson"].is_null());
        assert!(r2(&[2.0, 2.0, 2.0], &[1.0, 2.0, 3.0]).is_nan());
        assert!(r2(&[2.0, 2.0], &[2.0, 2.0]).is_nan());
        assert!(pearson_r(&[1.0, 2.0, 3.0], &[4.0, 4.0, 4.0]).is_nan());
        for f in [r2, rmse, mae, pearson_r] {
            assert!(f(&[], &[]).is_nan());
        }
    }

    #[test]
    #[should_panic(expected = "rmse: 3 true values but 2 predictions")]
    fn mismatched_lengths_are_an_error() {
        rmse(&[1.0, 2.0, 3.0], &[1.0, 2.0]);
    }
}
