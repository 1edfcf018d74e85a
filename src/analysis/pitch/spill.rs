//! The long-recording track ([`PitchTracker::write_json_blocks`]): the per-frame values of the
//! first pass are spilled to a scratch file, 16 bytes a frame, until the loudest frame is
//! known; the second pass writes the JSON track from them column by column, so memory stays at
//! one block of audio whatever the length.

use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};

use super::{PitchTracker, Raw};

impl Raw {
    /// Size of one spilled frame.
    const BYTES: usize = 16;

    pub(super) fn to_bytes(self) -> [u8; Self::BYTES] {
        let mut b = [0; Self::BYTES];
        for (i, v) in [self.f0, self.dip, self.rms, self.intensity]
            .into_iter()
            .enumerate()
        {
            b[4 * i..4 * i + 4].copy_from_slice(&v.to_le_bytes());
        }
        b
    }

    fn from_bytes(b: &[u8; Self::BYTES]) -> Self {
        let f = |i: usize| f32::from_le_bytes([b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]]);
        Self {
            f0: f(0),
            dip: f(1),
            rms: f(2),
            intensity: f(3),
        }
    }
}

/// One column of the JSON track: a frame's value, `None` for `null`.
type Column<'a> = dyn Fn(&Raw) -> Option<f32> + 'a;

impl PitchTracker {
    /// Tracks a signal of `total` samples read in blocks, as [`track_blocks`](Self::track_blocks),
    /// and writes the track to `out` as JSON: the very bytes `serde_json` writes for the
    /// [`PitchTrack`](super::PitchTrack), in memory independent of the length. The per-frame values wait in `spill`
    /// (16 bytes a frame, from its start) until the loudest frame is known.
    pub fn write_json_blocks<S: Read + Write + Seek>(
        &mut self,
        total: usize,
        read: &mut dyn FnMut(usize, usize) -> Vec<f32>,
        spill: &mut S,
        out: &mut dyn Write,
    ) -> io::Result<f32> {
        let frames = self.frames(total);
        spill.seek(SeekFrom::Start(0))?;
        let mut loudest = 0.0f32;
        {
            let mut w = BufWriter::with_capacity(1 << 16, &mut *spill);
            self.raw_blocks(total, read, &mut |r| {
                loudest = loudest.max(r.rms);
                w.write_all(&r.to_bytes())
            })?;
            w.flush()?;
        }
        let hop_secs = self.hop as f64 / f64::from(self.rate);
        out.write_all(b"{\"hop_secs\":")?;
        serde_json::to_writer(&mut *out, &hop_secs)?;
        out.write_all(b",\"times\":[")?;
        for k in 0..frames {
            if k > 0 {
                out.write_all(b",")?;
            }
            serde_json::to_writer(&mut *out, &self.time(k))?;
        }
        // One column per pass over the spilled frames, in the struct's field order.
        let columns: [(&[u8], &Column); 3] = [
            (b"],\"f0_hz\":[", &|r| {
                self.voiced(r, loudest).then_some(r.f0)
            }),
            (b"],\"confidence\":[", &|r| Some(r.confidence())),
            (b"],\"intensity_db\":[", &|r| Some(r.intensity)),
        ];
        for (name, value) in columns {
            out.write_all(name)?;
            spill.seek(SeekFrom::Start(0))?;
            let mut r = BufReader::with_capacity(1 << 16, &mut *spill);
            let mut b = [0; Raw::BYTES];
            for k in 0..frames {
                r.read_exact(&mut b)?;
                if k > 0 {
                    out.write_all(b",")?;
                }
                match value(&Raw::from_bytes(&b)) {
                    Some(v) => serde_json::to_writer(&mut *out, &v)?,
                    None => out.write_all(b"null")?,
                }
            }
        }
        out.write_all(b"]}")?;
        Ok(loudest)
    }
}
