//! Butterworth lowpass, highpass and bandpass filtering.
//!
//! Parameters:
//! * `lowpass` / `highpass`: `cutoff_hz` (severity axis, > 0 and below
//!   Nyquist) and `order` (2, 4, 6 or 8; default 4).
//! * `bandpass`: `low_hz` (one value, > 0), `high_hz` (severity axis, above
//!   `low_hz` and below Nyquist) and `order`. Sweeping the upper edge models
//!   the usual band limitation (telephone, low-bitrate codecs).
//!
//! `order` is the prototype order: each skirt falls at `6·order` dB per
//! octave, and the response is exactly −3 dB at every edge (see
//! [`super::butterworth`] for the design). The filter is causal (IIR, run
//! forward once), so it adds the Butterworth phase delay like analog gear.
//! Nyquist depends on the audio, so the edges are checked again at apply
//! time.

use super::butterworth::{design, filter, Band};
use super::{bad, check_sample_rate, num, Perturbation, Sweep};
use crate::seed::Rng;
use crate::Result;
use serde::{Deserialize, Serialize};

/// The orders accepted for every filter.
pub const ORDERS: [u32; 4] = [2, 4, 6, 8];

fn default_order() -> u32 {
    4
}

/// `kind = "lowpass"` or `kind = "highpass"` in the config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilterSpec {
    /// Cutoff (−3 dB) frequency in Hz (severity axis).
    pub cutoff_hz: Sweep,
    /// Prototype order: 2, 4, 6 or 8.
    #[serde(default = "default_order")]
    pub order: u32,
}

impl FilterSpec {
    pub(crate) fn sweep(&self) -> &Sweep {
        &self.cutoff_hz
    }

    pub(crate) fn build_lowpass(&self, cutoff_hz: f64) -> Filter {
        Filter {
            band: Band::Lowpass(cutoff_hz),
            order: self.order,
        }
    }

    pub(crate) fn build_highpass(&self, cutoff_hz: f64) -> Filter {
        Filter {
            band: Band::Highpass(cutoff_hz),
            order: self.order,
        }
    }
}

/// `kind = "bandpass"` in the config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BandpassSpec {
    /// Lower −3 dB edge in Hz (one value).
    pub low_hz: f64,
    /// Upper −3 dB edge in Hz (severity axis).
    pub high_hz: Sweep,
    /// Prototype order: 2, 4, 6 or 8.
    #[serde(default = "default_order")]
    pub order: u32,
}

impl BandpassSpec {
    pub(crate) fn sweep(&self) -> &Sweep {
        &self.high_hz
    }

    pub(crate) fn build(&self, high_hz: f64) -> Filter {
        Filter {
            band: Band::Bandpass(self.low_hz, high_hz),
            order: self.order,
        }
    }
}

/// A Butterworth filter with fixed edges and order.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    band: Band,
    order: u32,
}

impl Filter {
    /// A lowpass filter (see the module docs for ranges).
    pub fn lowpass(cutoff_hz: f64, order: u32) -> Result<Self> {
        Self::checked(Band::Lowpass(cutoff_hz), order)
    }

    /// A highpass filter (see the module docs for ranges).
    pub fn highpass(cutoff_hz: f64, order: u32) -> Result<Self> {
        Self::checked(Band::Highpass(cutoff_hz), order)
    }

    /// A bandpass filter (see the module docs for ranges).
    pub fn bandpass(low_hz: f64, high_hz: f64, order: u32) -> Result<Self> {
        Self::checked(Band::Bandpass(low_hz, high_hz), order)
    }

    fn checked(band: Band, order: u32) -> Result<Self> {
        let f = Filter { band, order };
        f.check(f.kind(), None)?;
        Ok(f)
    }

    /// `lowpass`, `highpass` or `bandpass`.
    pub fn kind(&self) -> &'static str {
        match self.band {
            Band::Lowpass(_) => "lowpass",
            Band::Highpass(_) => "highpass",
            Band::Bandpass(..) => "bandpass",
        }
    }

    pub(crate) fn check(&self, key: &str, sample_rate: Option<u32>) -> Result<()> {
        if !ORDERS.contains(&self.order) {
            return Err(bad(
                key,
                "order",
                format!("must be 2, 4, 6 or 8 (got {})", self.order),
            ));
        }
        let positive = |field: &str, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(bad(
                    key,
                    field,
                    format!("must be a positive frequency in Hz (got {})", num(v)),
                ))
            }
        };
        let below_nyquist = |field: &str, v: f64| match sample_rate {
            Some(sr) if v >= sr as f64 / 2.0 => Err(bad(
                key,
                field,
                format!(
                    "must be below Nyquist ({} Hz) (got {}); the audio is at {sr} Hz",
                    num(sr as f64 / 2.0),
                    num(v)
                ),
            )),
            _ => Ok(()),
        };
        match self.band {
            Band::Lowpass(fc) | Band::Highpass(fc) => {
                positive("cutoff_hz", fc)?;
                below_nyquist("cutoff_hz", fc)
            }
            Band::Bandpass(lo, hi) => {
                positive("low_hz", lo)?;
                positive("high_hz", hi)?;
                if hi <= lo {
                    return Err(bad(
                        key,
                        "high_hz",
                        format!("must be above low_hz ({} Hz) (got {})", num(lo), num(hi)),
                    ));
                }
                below_nyquist("high_hz", hi)
            }
        }
    }
}

impl Perturbation for Filter {
    fn id(&self) -> String {
        match self.band {
            Band::Lowpass(fc) | Band::Highpass(fc) => {
                format!(
                    "{}/v1;cutoff_hz={};order={}",
                    self.kind(),
                    num(fc),
                    self.order
                )
            }
            Band::Bandpass(lo, hi) => format!(
                "bandpass/v1;high_hz={};low_hz={};order={}",
                num(hi),
                num(lo),
                self.order
            ),
        }
    }

    fn apply(&self, audio: &[f32], sample_rate: u32, _rng: &mut Rng) -> Result<Vec<f32>> {
        check_sample_rate(self.kind(), sample_rate)?;
        self.check(self.kind(), Some(sample_rate))?;
        let sections = design(self.band, self.order as usize, sample_rate as f64);
        Ok(filter(&sections, audio))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perturb::testutil::{crossings, magnitude_db};
    use crate::seed::rng;

    fn impulse_response(f: &Filter, sr: u32) -> Vec<f64> {
        let mut x = vec![0.0f32; 1 << 16];
        x[0] = 1.0;
        let h = f.apply(&x, sr, &mut rng(0, &[])).unwrap();
        magnitude_db(&h, 1 << 16)
    }

    fn assert_within_5_percent(got: f64, want: f64, what: &str) {
        assert!(
            ((got - want) / want).abs() < 0.05,
            "{what}: -3 dB at {got} Hz, want {want}"
        );
    }

    #[test]
    fn measured_minus_3_db_points_are_at_the_edges() {
        for sr in [16000u32, 22050, 44100] {
            for order in ORDERS {
                for fc in [100.0, 1000.0, 4000.0, 7000.0] {
                    let db = impulse_response(&Filter::lowpass(fc, order).unwrap(), sr);
                    let c = crossings(&db, sr, -3.0);
                    assert_eq!(c.len(), 1, "lowpass {fc} {order}: {c:?}");
                    assert_within_5_percent(
                        c[0],
                        fc,
                        &format!("lowpass {fc} order {order} @ {sr}"),
                    );
                    // Passband is flat, stopband falls ≥ 6·order dB/octave below
                    // the cutoff's octave (the bilinear transform only steepens it).
                    assert!(db[1].abs() < 0.01);
                    let bin = |f: f64| (f / sr as f64 * 65536.0).round() as usize;
                    if 2.0 * fc < sr as f64 / 2.0 {
                        let drop = -db[bin(2.0 * fc)];
                        assert!(
                            drop > 6.0 * order as f64 - 0.5,
                            "lowpass {fc} {order}: {drop} dB"
                        );
                    }
                    let db = impulse_response(&Filter::highpass(fc, order).unwrap(), sr);
                    let c = crossings(&db, sr, -3.0);
                    assert_eq!(c.len(), 1, "highpass {fc} {order}: {c:?}");
                    assert_within_5_percent(
                        c[0],
                        fc,
                        &format!("highpass {fc} order {order} @ {sr}"),
                    );
                }
                let db = impulse_response(&Filter::bandpass(300.0, 3400.0, order).unwrap(), sr);
                let c = crossings(&db, sr, -3.0);
                assert_eq!(c.len(), 2, "bandpass {order}: {c:?}");
                assert_within_5_percent(c[0], 300.0, "bandpass low edge");
                assert_within_5_percent(c[1], 3400.0, "bandpass high edge");
            }
        }
    }

    #[test]
    fn edges_are_checked_against_nyquist_at_apply_time() {
        let f = Filter::lowpass(9000.0, 4).unwrap();
        let err = f
            .apply(&[0.0; 10], 16000, &mut rng(0, &[]))
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "lowpass.cutoff_hz: must be below Nyquist (8000 Hz) (got 9000); the audio is at 16000 Hz"
        );
        let err = Filter::bandpass(500.0, 400.0, 4).unwrap_err().to_string();
        assert_eq!(
            err,
            "bandpass.high_hz: must be above low_hz (500 Hz) (got 400)"
        );
        let err = Filter::highpass(-1.0, 4).unwrap_err().to_string();
        assert!(
            err.starts_with("highpass.cutoff_hz: must be a positive"),
            "{err}"
        );
        let err = Filter::highpass(100.0, 3).unwrap_err().to_string();
        assert_eq!(err, "highpass.order: must be 2, 4, 6 or 8 (got 3)");
    }

    #[test]
    fn ids_are_canonical() {
        assert_eq!(
            Filter::lowpass(4000.0, 4).unwrap().id(),
            "lowpass/v1;cutoff_hz=4000;order=4"
        );
        assert_eq!(
            Filter::bandpass(300.0, 3400.0, 2).unwrap().id(),
            "bandpass/v1;high_hz=3400;low_hz=300;order=2"
        );
    }
}
