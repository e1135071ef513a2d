//! SoundFont rendering with rustysynth (SF2 only), reverb and chorus off so
//! that the only factors are the ones in the score.

use super::score::{Instrument, Score, Voice};
use repbench_framework::audio::resample;
use repbench_framework::{Error, Result};
use rustysynth::{SoundFont, Synthesizer, SynthesizerSettings};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// Where Debian's `fluid-soundfont-gm` package installs FluidR3 GM (MIT).
pub const DEBIAN_SOUNDFONT: &str = "/usr/share/sounds/sf2/FluidR3_GM.sf2";
/// Events take effect at block boundaries: 16 samples is 1 ms at 16 kHz.
const BLOCK: usize = 16;
const PERCUSSION_CHANNEL: i32 = 9;

/// A SoundFont file: its hash (known at build time, for content keys) and
/// its parsed form (loaded on first render, once, shared by threads).
pub struct SoundFontFile {
    path: PathBuf,
    hash: String,
    parsed: OnceLock<std::result::Result<Arc<SoundFont>, String>>,
}

impl SoundFontFile {
    /// Hashes `path`; errors name it.
    pub fn open(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        if bytes.get(8..12) != Some(b"sfbk") {
            return Err(Error::Other(format!(
                "{}: not an SF2 SoundFont (rustysynth reads SF2 only, not SF3 or other formats)",
                path.display()
            )));
        }
        Ok(SoundFontFile {
            path: path.to_path_buf(),
            hash: blake3::hash(&bytes).to_hex().to_string(),
            parsed: OnceLock::new(),
        })
    }

    /// blake3 of the file.
    pub fn hash(&self) -> &str {
        &self.hash
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn sound_font(&self) -> Result<Arc<SoundFont>> {
        self.parsed
            .get_or_init(|| {
                let mut file = std::fs::File::open(&self.path).map_err(|e| e.to_string())?;
                SoundFont::new(&mut file)
                    .map(Arc::new)
                    .map_err(|e| format!("{e:?}"))
            })
            .clone()
            .map_err(|e| {
                Error::Other(format!(
                    "{}: cannot read SoundFont: {e}",
                    self.path.display()
                ))
            })
    }

    /// Renders `score` to mono at `sample_rate`. rustysynth runs at 16–192
    /// kHz; other rates are rendered at the nearest end and resampled.
    pub fn render(&self, score: &Score, sample_rate: u32) -> Result<Vec<f32>> {
        let synth_rate = sample_rate.clamp(16_000, 192_000);
        let mut settings = SynthesizerSettings::new(synth_rate as i32);
        settings.enable_reverb_and_chorus = false;
        settings.block_size = BLOCK;
        let sf = self.sound_font()?;
        let mut synth = Synthesizer::new(&sf, &settings).map_err(|e| {
            Error::Other(format!(
                "{}: cannot start the synthesiser: {e:?}",
                self.path.display()
            ))
        })?;
        // One channel per instrument (skipping the percussion channel).
        let mut instruments: Vec<Instrument> = score
            .notes
            .iter()
            .filter_map(|n| match n.voice {
                Voice::Pitched(i) => Some(i),
                Voice::Drum(_) => None,
            })
            .collect();
        instruments.sort();
        instruments.dedup();
        let channel_of = |inst: Instrument| {
            let i = instruments.iter().position(|x| *x == inst).unwrap_or(0) as i32;
            if i >= PERCUSSION_CHANNEL {
                i + 1
            } else {
                i
            }
        };
        for &inst in &instruments {
            // 0xC0: program change.
            synth.process_midi_message(channel_of(inst), 0xC0, i32::from(inst.gm_program()), 0);
        }
        let sr = f64::from(synth_rate);
        // (sample, is_on, channel, key, velocity); offs sort before ons at
        // the same sample so a repeated key restarts cleanly.
        let mut events: Vec<(usize, bool, i32, i32, i32)> = Vec::new();
        for note in &score.notes {
            let (channel, key) = match note.voice {
                Voice::Pitched(i) => (channel_of(i), i32::from(note.key)),
                Voice::Drum(d) => (PERCUSSION_CHANNEL, i32::from(d.gm_key())),
            };
            let on = (note.start_s * sr).round() as usize;
            let off = ((note.start_s + note.dur_s) * sr).round() as usize;
            events.push((on, true, channel, key, i32::from(note.velocity)));
            events.push((off, false, channel, key, 0));
        }
        events.sort();
        let n = (score.length_s * sr).round() as usize;
        let (mut left, mut right) = (vec![0.0f32; n], vec![0.0f32; n]);
        let mut pos = 0;
        for (at, is_on, channel, key, velocity) in events {
            let at = at.min(n);
            if at > pos {
                synth.render(&mut left[pos..at], &mut right[pos..at]);
                pos = at;
            }
            if is_on {
                synth.note_on(channel, key, velocity);
            } else {
                synth.note_off(channel, key);
            }
        }
        if pos < n {
            synth.render(&mut left[pos..], &mut right[pos..]);
        }
        let mono: Vec<f32> = left
            .iter()
            .zip(&right)
            .map(|(l, r)| 0.5 * (l + r))
            .collect();
        if synth_rate == sample_rate {
            Ok(mono)
        } else {
            resample(&mono, synth_rate, sample_rate)
        }
    }
}
