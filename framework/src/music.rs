//! Music-theory values shared by datasets (reading annotations) and tasks
//! (scoring them).

/// A musical key: tonic pitch class (0 = C) and mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    /// Pitch class of the tonic, 0..12.
    pub tonic: u8,
    /// Major (true) or minor (false).
    pub major: bool,
}

/// One spelling per pitch class (sharps for F#/C#, flats otherwise), as key
/// annotations usually write them.
const SPELLING: [&str; 12] = [
    "C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B",
];

impl Key {
    /// Parses labels such as `C major`, `f# minor`, `Bb minor`, `Eb:maj`,
    /// `A:min` (any number of `#`/`b`). `None` when the text is not a key.
    pub fn parse(text: &str) -> Option<Key> {
        let t = text.trim().replace(':', " ");
        let mut parts = t.split_whitespace();
        let tonic_text = parts.next()?;
        let mode_text = parts.next()?.to_ascii_lowercase();
        if parts.next().is_some() {
            return None;
        }
        let mut chars = tonic_text.chars();
        let mut pc: i32 = match chars.next()?.to_ascii_uppercase() {
            'C' => 0,
            'D' => 2,
            'E' => 4,
            'F' => 5,
            'G' => 7,
            'A' => 9,
            'B' => 11,
            _ => return None,
        };
        for c in chars {
            pc += match c {
                '#' | '♯' => 1,
                'b' | '♭' => -1,
                _ => return None,
            };
        }
        let major = match mode_text.as_str() {
            "major" | "maj" => true,
            "minor" | "min" => false,
            _ => return None,
        };
        Some(Key {
            tonic: pc.rem_euclid(12) as u8,
            major,
        })
    }

    /// The tonic's conventional spelling, e.g. `Eb`.
    pub fn tonic_name(self) -> &'static str {
        SPELLING[self.tonic as usize]
    }

    /// `major` or `minor`.
    pub fn mode_name(self) -> &'static str {
        if self.major {
            "major"
        } else {
            "minor"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_and_modes_parse_to_one_key() {
        let k = |s: &str| Key::parse(s).unwrap();
        assert_eq!(k("Db:maj"), k("C# major"));
        assert_eq!(k("d# min").tonic_name(), "Eb");
        assert_eq!(k("B#:maj"), k("C major"));
        assert_eq!(k("Gb major").tonic_name(), "F#");
        assert_eq!(Key::parse("rock"), None);
        assert_eq!(Key::parse("C major extra"), None);
    }
}
