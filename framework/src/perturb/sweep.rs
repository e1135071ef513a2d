//! The severity axis of a perturbation: one number, or a list of numbers
//! that expands into one perturbation per value.

use super::{bad, num};
use crate::Result;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::ser::{SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};
use std::fmt;

/// One severity value or a sweep of them, in the order given.
///
/// Deserializes from a number (`snr_db = 20`) or a list of numbers
/// (`snr_db = [40, 20, 0]`); serializes back to the same shape.
#[derive(Debug, Clone, PartialEq)]
pub struct Sweep(Vec<f64>);

impl Sweep {
    /// A single value.
    pub fn one(value: f64) -> Self {
        Sweep(vec![value])
    }

    /// A list of values, in sweep order.
    pub fn many(values: Vec<f64>) -> Self {
        Sweep(values)
    }

    /// The values, in sweep order.
    pub fn values(&self) -> &[f64] {
        &self.0
    }

    /// Checks the list is non-empty and every value is finite.
    pub(crate) fn check(&self, key: &str, field: &str) -> Result<()> {
        if self.0.is_empty() {
            return Err(bad(
                key,
                field,
                "give a number or a non-empty list of numbers",
            ));
        }
        if let Some(v) = self.0.iter().find(|v| !v.is_finite()) {
            return Err(bad(key, field, format!("must be finite (got {})", num(*v))));
        }
        Ok(())
    }
}

impl From<f64> for Sweep {
    fn from(value: f64) -> Self {
        Sweep::one(value)
    }
}

impl Serialize for Sweep {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if let [single] = self.0.as_slice() {
            return s.serialize_f64(*single);
        }
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for v in &self.0 {
            seq.serialize_element(v)?;
        }
        seq.end()
    }
}

/// Accepts integers and floats alike, since TOML and JSON users write
/// `20` as often as `20.0`.
struct Number(f64);

impl<'de> Deserialize<'de> for Number {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Number;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Number, E> {
                Ok(Number(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Number, E> {
                Ok(Number(v as f64))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Number, E> {
                Ok(Number(v))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for Sweep {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Sweep;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number or a list of numbers")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Sweep, E> {
                Ok(Sweep::one(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Sweep, E> {
                Ok(Sweep::one(v as f64))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Sweep, E> {
                Ok(Sweep::one(v))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Sweep, A::Error> {
                let mut values = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                while let Some(Number(v)) = seq.next_element()? {
                    values.push(v);
                }
                Ok(Sweep(values))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_or_list_round_trips() {
        let one: Sweep = serde_json::from_str("20").unwrap();
        assert_eq!(one.values(), &[20.0]);
        let many: Sweep = serde_json::from_str("[40, 2.5, -3]").unwrap();
        assert_eq!(many.values(), &[40.0, 2.5, -3.0]);
        assert_eq!(serde_json::to_string(&one).unwrap(), "20.0");
        assert_eq!(serde_json::to_string(&many).unwrap(), "[40.0,2.5,-3.0]");
        let err = serde_json::from_str::<Sweep>("\"loud\"").unwrap_err();
        assert!(
            err.to_string().contains("a number or a list of numbers"),
            "{err}"
        );
        let err = serde_json::from_str::<Sweep>("[1, \"x\"]").unwrap_err();
        assert!(err.to_string().contains("a number"), "{err}");
    }

    #[test]
    fn empty_or_non_finite_lists_are_rejected_with_the_key() {
        let err = Sweep::many(vec![]).check("p[0]", "snr_db").unwrap_err();
        assert!(err.to_string().starts_with("p[0].snr_db: "), "{err}");
        let err = Sweep::many(vec![1.0, f64::NAN])
            .check("p[0]", "snr_db")
            .unwrap_err();
        assert!(err.to_string().contains("finite"), "{err}");
    }
}
