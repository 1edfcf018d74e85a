//! The reading half of a [`Decoder`]: packets in, mono samples out, with the damage rules
//! (a bad packet is skipped, too many in a row is a corrupt file, damage after good audio
//! ends the stream as truncated), edit-list trimming, and the summary at the end.

use std::io;
use std::panic::{self, AssertUnwindSafe};

use symphonia::core::errors::Error as SymError;

use super::{ChannelMode, DecodeSummary, Decoder, MAX_BAD_PACKETS_IN_A_ROW, Warning, guarded};
use crate::audio::error::IngestError;
use crate::audio::mix::mix;
use crate::audio::validate::{check_channels, corrupt};

impl Decoder {
    /// Appends the next decoded samples (mono, source rate) to `out`.
    /// Returns `Ok(false)` once the stream has ended.
    pub fn next_chunk(&mut self, out: &mut Vec<f32>) -> Result<bool, IngestError> {
        loop {
            if self.keep.is_some_and(|k| self.frames >= k) {
                return Ok(false);
            }
            let packet = match guarded(|| self.reader.next_packet()) {
                Ok(Some(p)) => p,
                Ok(None) | Err(SymError::ResetRequired) => return Ok(false),
                Err(SymError::IoError(e)) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    self.truncated = true;
                    return Ok(false);
                }
                Err(e) if self.frames > 0 => {
                    // Damage after good audio: keep what decoded, say the file is cut short.
                    tracing::debug!("demuxer stopped: {e}");
                    self.truncated = true;
                    return Ok(false);
                }
                Err(SymError::Unsupported(what)) => {
                    return Err(IngestError::UnsupportedCodec {
                        container: self.info.container.clone(),
                        codec: what.to_string(),
                    });
                }
                Err(SymError::IoError(e)) if e.kind() != io::ErrorKind::Other => {
                    return Err(IngestError::Io(e));
                }
                Err(e) => return Err(corrupt(e)),
            };
            if packet.track_id != self.track_id {
                continue;
            }
            // A decoder bug must not take the process down: a panic is one more bad packet.
            let decoded = panic::catch_unwind(AssertUnwindSafe(|| {
                self.decoder.decode(&packet).map(|_| ())
            }))
            .unwrap_or(Err(SymError::DecodeError(
                "the decoder crashed on this packet",
            )));
            let buf = match decoded.map(|()| self.decoder.last_decoded()) {
                Ok(buf) => buf,
                Err(SymError::ResetRequired) => {
                    self.decoder.reset();
                    continue;
                }
                Err(SymError::Unsupported(what)) => {
                    return Err(IngestError::UnsupportedCodec {
                        container: self.info.container.clone(),
                        codec: what.to_string(),
                    });
                }
                Err(e) => {
                    self.bad_packets += 1;
                    self.bad_in_a_row += 1;
                    tracing::debug!("skipping undecodable packet: {e}");
                    if self.bad_in_a_row >= MAX_BAD_PACKETS_IN_A_ROW {
                        return Err(corrupt(e));
                    }
                    continue;
                }
            };
            self.bad_in_a_row = 0;
            let spec = buf.spec();
            let channels = spec.channels().count();
            check_channels(channels)?;
            if self.info.channels == 0 {
                self.info.channels = channels as u32;
            }
            if spec.rate() != self.info.sample_rate {
                return Err(corrupt(format!(
                    "the sample rate changes mid-stream ({} Hz to {} Hz)",
                    self.info.sample_rate,
                    spec.rate()
                )));
            }
            if let ChannelMode::Select(ch) = self.opts.channel
                && ch >= channels
            {
                return Err(IngestError::NoSuchChannel {
                    requested: ch,
                    channels,
                });
            }
            self.interleaved.clear();
            buf.copy_to_vec_interleaved(&mut self.interleaved);
            let mut frames = &self.interleaved[..];
            let n = frames.len() / channels;
            // Drop edit-list priming, then stop at the edit's end.
            let skip = self.skip.min(n as u64) as usize;
            self.skip -= skip as u64;
            frames = &frames[skip * channels..];
            let mut n = n - skip;
            if let Some(keep) = self.keep {
                n = n.min(keep.saturating_sub(self.frames) as usize);
            }
            if n == 0 {
                continue;
            }
            let n = if self.end_trim == 0 {
                self.nonfinite += mix(&frames[..n * channels], channels, self.opts.channel, out);
                n
            } else {
                // Hold back the last `end_trim` frames: only the end of the stream says they
                // were padding.
                self.nonfinite += mix(
                    &frames[..n * channels],
                    channels,
                    self.opts.channel,
                    &mut self.held,
                );
                let ready = self.held.len().saturating_sub(self.end_trim);
                out.extend(self.held.drain(..ready));
                ready
            };
            if n == 0 {
                continue;
            }
            self.frames += n as u64;
            if self.frames > self.max_frames {
                return Err(IngestError::TooLong {
                    limit_secs: self.opts.max_secs,
                    found: "found while decoding".into(),
                });
            }
            return Ok(true);
        }
    }

    /// Ends decoding: validates that audio was found and lists the warnings.
    pub fn finish(self) -> Result<DecodeSummary, IngestError> {
        if self.frames == 0 {
            return Err(if self.bad_packets > 0 {
                corrupt("no packet of audio could be decoded")
            } else {
                IngestError::EmptyAudio
            });
        }
        let mut warnings = Vec::new();
        let rate = u64::from(self.info.sample_rate);
        let tolerance = (rate / 20).max(2_304);
        let short_of_header = self
            .info
            .header_frames
            .is_some_and(|h| self.frames + tolerance < h);
        if self.truncated || short_of_header || self.wav_overclaimed {
            warnings.push(Warning::Truncated);
        }
        if self.partial_frame {
            warnings.push(Warning::PartialFrameDropped);
        }
        if self.nonfinite > 0 {
            warnings.push(Warning::NonfiniteSamplesReplaced);
        }
        if self.bad_packets > 0 {
            warnings.push(Warning::DecodeErrors);
        }
        Ok(DecodeSummary {
            info: self.info,
            frames: self.frames,
            nonfinite: self.nonfinite,
            bad_packets: self.bad_packets,
            warnings,
        })
    }
}
