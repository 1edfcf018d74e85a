//! Spectrogram tiles: a time range rendered to an image of a requested pixel size, as PNG or
//! as raw `u8` rows for drawing on a canvas.
//!
//! Only the columns asked for are computed: column `x` is one STFT frame centred on its time,
//! so a tile costs `width` FFTs whatever the zoom. Rows map to frequency on a linear or mel
//! axis; a row wider than a bin takes the strongest bin in its band, a narrower one
//! interpolates. Values are dB below a reference maximum, clipped at the dynamic range.

use std::io;

use super::stft::{Stft, StftConfig, hz_to_mel, mel_to_hz};

/// 10·log10(p) to within 0.01 dB, several times faster than libm: a tile needs one per pixel
/// and 8-bit output resolves only ~0.3 dB. Floors at −200 dB like [`power_db`](super::stft::power_db).
fn fast_db(p: f32) -> f32 {
    if p.is_nan() || p <= 1e-20 {
        return -200.0;
    }
    let bits = p.to_bits();
    let exponent = ((bits >> 23) & 0xff) as f32 - 127.0;
    let m = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000); // mantissa in [1, 2)
    // log2(m) on [1, 2): least-squares quartic, error under 0.001 dB.
    let log2m = -2.496_781_8
        + m * (4.028_392_3 + m * (-2.081_077_3 + m * (0.628_822_2 + m * -0.079_151_23)));
    (exponent + log2m) * 3.010_3
}

/// Frequency axis of a tile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FreqScale {
    /// Hz, linear.
    Linear,
    /// Mel.
    Mel,
}

/// Colour map for PNG output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Colormap {
    /// Praat-style: white is silence, black is loud.
    Gray,
    /// Viridis, perceptually uniform and readable in greyscale and by colour-blind users.
    Viridis,
}

/// What to render.
#[derive(Debug, Clone, Copy)]
pub struct TileRequest {
    /// First sample of the range.
    pub start: i64,
    /// One past the last sample of the range.
    pub end: i64,
    /// Image width in pixels.
    pub width: usize,
    /// Image height in pixels.
    pub height: usize,
    /// Top of the frequency axis in Hz.
    pub max_freq: f32,
    /// Values this many dB below the reference are drawn as the floor.
    pub dynamic_range_db: f32,
    /// Reference level in dB (the recording's maximum); `None` uses the tile's own maximum.
    pub reference_db: Option<f32>,
    /// Frequency axis.
    pub scale: FreqScale,
    /// Transform settings.
    pub stft: StftConfig,
}

/// A rendered tile: `height` rows of `width` values, top row = highest frequency,
/// 0 = at or below the floor, 255 = at the reference level.
#[derive(Debug, Clone, PartialEq)]
pub struct Tile {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// Row-major intensities.
    pub values: Vec<u8>,
    /// The reference level used, in dB.
    pub reference_db: f32,
}

/// Renders `req` from `signal`, whose first element is sample `offset` of the recording.
pub fn render(signal: &[f32], offset: i64, rate: u32, req: &TileRequest) -> Tile {
    let mut stft = Stft::new(req.stft, rate);
    let bins = stft.bins();
    let n_fft = stft.config().n_fft as f32;
    let bin_hz = rate as f32 / n_fft;
    let top = req.max_freq.min(rate as f32 / 2.0);
    // Band edges of each row, in fractional bins, top row first.
    let edge = |y: f32| -> f32 {
        let frac = 1.0 - y / req.height as f32;
        let hz = match req.scale {
            FreqScale::Linear => frac * top,
            FreqScale::Mel => mel_to_hz(frac * hz_to_mel(top)),
        };
        hz / bin_hz
    };
    let rows: Vec<(f32, f32)> = (0..req.height)
        .map(|y| (edge(y as f32 + 1.0), edge(y as f32)))
        .collect();

    let mut power = vec![0.0f32; bins];
    let mut db = vec![0.0f32; req.width * req.height];
    let span = (req.end - req.start) as f64 / req.width as f64;
    for x in 0..req.width {
        let centre = req.start + ((x as f64 + 0.5) * span) as i64;
        stft.power_at(signal, offset, centre, &mut power);
        for (y, &(lo, hi)) in rows.iter().enumerate() {
            let p = if hi - lo >= 1.0 {
                let a = lo.ceil() as usize;
                let b = (hi.floor() as usize).min(bins - 1);
                power[a.min(b)..=b].iter().copied().fold(0.0, f32::max)
            } else {
                let c = ((lo + hi) / 2.0).clamp(0.0, (bins - 1) as f32);
                let i = c.floor() as usize;
                let t = c - i as f32;
                let j = (i + 1).min(bins - 1);
                power[i] * (1.0 - t) + power[j] * t
            };
            db[y * req.width + x] = fast_db(p);
        }
    }
    let reference = req
        .reference_db
        .unwrap_or_else(|| db.iter().copied().fold(f32::MIN, f32::max));
    let range = req.dynamic_range_db.max(1.0);
    let values = db
        .iter()
        .map(|&v| (((v - (reference - range)) / range).clamp(0.0, 1.0) * 255.0).round() as u8)
        .collect();
    Tile {
        width: req.width,
        height: req.height,
        values,
        reference_db: reference,
    }
}

impl Tile {
    /// Encodes the tile as PNG.
    pub fn to_png(&self, cmap: Colormap) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        let mut enc = png::Encoder::new(&mut out, self.width as u32, self.height as u32);
        enc.set_compression(png::Compression::Fast);
        // Neighbouring pixels are similar along a row: the Sub filter alone compresses well and
        // skips the adaptive filter search.
        enc.set_filter(png::Filter::Sub);
        let pixels: Vec<u8> = match cmap {
            Colormap::Gray => {
                enc.set_color(png::ColorType::Grayscale);
                self.values.iter().map(|v| 255 - v).collect()
            }
            Colormap::Viridis => {
                enc.set_color(png::ColorType::Rgb);
                let lut: Vec<[u8; 3]> = (0..256)
                    .map(|i| {
                        let c = colorous::VIRIDIS.eval_rational(i, 256);
                        [c.r, c.g, c.b]
                    })
                    .collect();
                self.values
                    .iter()
                    .flat_map(|&v| lut[usize::from(v)])
                    .collect()
            }
        };
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header().map_err(io::Error::other)?;
        w.write_image_data(&pixels).map_err(io::Error::other)?;
        w.finish().map_err(io::Error::other)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(width: usize, height: usize, n: i64) -> TileRequest {
        TileRequest {
            start: 0,
            end: n,
            width,
            height,
            max_freq: 8_000.0,
            dynamic_range_db: 70.0,
            reference_db: None,
            scale: FreqScale::Linear,
            stft: StftConfig::narrowband(16_000),
        }
    }

    #[test]
    fn a_tone_draws_one_bright_row_at_its_height() {
        let x: Vec<f32> = (0..16_000)
            .map(|i| (i as f32 * 2.0 * std::f32::consts::PI * 2_000.0 / 16_000.0).sin())
            .collect();
        let tile = render(&x, 0, 16_000, &req(100, 80, 16_000));
        let mid = tile.width / 2;
        let col: Vec<u8> = (0..tile.height)
            .map(|y| tile.values[y * tile.width + mid])
            .collect();
        let brightest = col.iter().enumerate().max_by_key(|c| c.1).unwrap().0;
        // 2 kHz of 8 kHz is a quarter of the way up: row 60 of 80 from the top.
        assert!((brightest as i64 - 60).abs() <= 1, "row {brightest}");
        let png = tile.to_png(Colormap::Viridis).unwrap();
        assert_eq!(&png[1..4], b"PNG");
    }

    #[test]
    fn fast_db_matches_log10() {
        for p in [1e-19f32, 3.3e-12, 1e-6, 0.01, 0.5, 1.0, 1.7, 123.0] {
            let exact = 10.0 * p.log10();
            assert!(
                (fast_db(p) - exact).abs() < 0.01,
                "{p}: {} vs {exact}",
                fast_db(p)
            );
        }
        assert_eq!(fast_db(0.0), -200.0);
    }

    #[test]
    fn silence_renders_at_the_floor() {
        let tile = render(
            &[0.0; 8_000],
            0,
            16_000,
            &TileRequest {
                reference_db: Some(0.0),
                ..req(50, 40, 8_000)
            },
        );
        assert!(tile.values.iter().all(|&v| v == 0));
        let mut mel = req(50, 40, 8_000);
        mel.scale = FreqScale::Mel;
        assert_eq!(render(&[0.0; 8_000], 0, 16_000, &mel).values.len(), 2_000);
    }
}
