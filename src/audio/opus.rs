//! Opus for symphonia: an `AudioDecoder` over the pure-Rust `opus-pure` crate.
//!
//! Symphonia 0.6 demuxes Opus (Ogg and WebM) but ships no Opus decoder. Browsers and phones
//! record Opus, so fangyan registers this adapter. `opus-pure` builds from crates alone (no
//! cmake, no system libopus), unlike `symphonia-adapter-libopus`, whose bundled build needs
//! cmake, and it decodes at libopus speed. (`opus-decoder` 0.1 was tried first: it recomputes
//! FFT twiddles with `sincos` on every frame and ran 120x slower than ffmpeg.)
//!
//! Timing: the first `pre_skip` samples (OpusHead, RFC 7845 §4.2) are encoder delay and are
//! dropped, exactly as ffmpeg and libopusfile do, so segment times line up with other tools.
//! The Ogg demuxer may already express that delay as `trim_start`; we only trim what it did not.

use symphonia::core::audio::{
    AsGenericAudioBufferRef, AudioBuffer, AudioMut, AudioSpec, Channels, GenericAudioBufferRef,
    layouts,
};
use symphonia::core::codecs::CodecInfo;
use symphonia::core::codecs::audio::well_known::CODEC_ID_OPUS;
use symphonia::core::codecs::audio::{
    AudioCodecParameters, AudioDecoder, AudioDecoderOptions, FinalizeResult,
};
use symphonia::core::codecs::registry::{RegisterableAudioDecoder, SupportedAudioCodec};
use symphonia::core::errors::{Error, Result, unsupported_error};
use symphonia::core::packet::PacketRef;
use symphonia::core::support_audio_codec;

/// Opus always decodes at 48 kHz here; the analysis resampler takes it from there.
const OPUS_RATE: u32 = 48_000;
/// 120 ms at 48 kHz: the longest packet Opus allows.
const MAX_FRAMES: usize = 5_760;

/// Symphonia decoder for mono and stereo Opus streams.
pub struct OpusDecoder {
    params: AudioCodecParameters,
    inner: opus_pure::OpusDecoder,
    channels: usize,
    pcm: Vec<f32>,
    buf: AudioBuffer<f32>,
    /// Pre-skip frames not yet dropped, neither by us nor by the demuxer.
    skip_left: usize,
}

/// Reads `pre_skip` from an OpusHead (the Ogg header or Matroska CodecPrivate).
fn pre_skip(head: &[u8]) -> Option<usize> {
    if head.len() < 12 || &head[..8] != b"OpusHead" {
        return None;
    }
    Some(usize::from(u16::from_le_bytes([head[10], head[11]])))
}

fn layout(channels: usize) -> Channels {
    if channels == 1 {
        layouts::CHANNEL_LAYOUT_MONO
    } else {
        layouts::CHANNEL_LAYOUT_STEREO
    }
}

impl OpusDecoder {
    fn try_new(params: &AudioCodecParameters) -> Result<Self> {
        let channels = params.channels.as_ref().map(Channels::count).unwrap_or(0);
        if !(1..=2).contains(&channels) {
            return unsupported_error("opus: only mono and stereo Opus are supported");
        }
        let inner = opus_pure::OpusDecoder::new(OPUS_RATE as i32, channels)
            .map_err(|_| Error::Unsupported("opus: decoder rejected the stream parameters"))?;
        let skip_left = params.extra_data.as_deref().and_then(pre_skip).unwrap_or(0);
        Ok(Self {
            params: params.clone(),
            inner,
            channels,
            pcm: vec![0.0; MAX_FRAMES * channels],
            buf: AudioBuffer::new(AudioSpec::new(OPUS_RATE, layout(channels)), MAX_FRAMES),
            skip_left,
        })
    }
}

impl AudioDecoder for OpusDecoder {
    fn codec_info(&self) -> &CodecInfo {
        &Self::supported_codecs()[0].info
    }

    fn reset(&mut self) {
        // A failed reset leaves the old state, which the next packet's decode survives.
        let _ = self.inner.reset_state();
    }

    fn codec_params(&self) -> &AudioCodecParameters {
        &self.params
    }

    fn decode_ref(&mut self, packet: &PacketRef<'_>) -> Result<GenericAudioBufferRef<'_>> {
        let frames = self
            .inner
            .decode(packet.data, MAX_FRAMES, &mut self.pcm)
            .map_err(|_| Error::DecodeError("opus: invalid packet"))?;
        self.buf.clear();
        self.buf.render_uninit(Some(frames));
        self.buf
            .copy_from_slice_interleaved(&&self.pcm[..frames * self.channels]);

        let demuxer_trim = packet.trim_start.get() as usize;
        let start = demuxer_trim.max(self.skip_left.min(frames));
        self.skip_left = self.skip_left.saturating_sub(start);
        let end = (packet.trim_end.get() as usize).min(frames - start.min(frames));
        self.buf.trim(start.min(frames), end);
        Ok(self.buf.as_generic_audio_buffer_ref())
    }

    fn finalize(&mut self) -> FinalizeResult {
        FinalizeResult::default()
    }

    fn last_decoded(&self) -> GenericAudioBufferRef<'_> {
        self.buf.as_generic_audio_buffer_ref()
    }
}

impl RegisterableAudioDecoder for OpusDecoder {
    fn try_registry_new(
        params: &AudioCodecParameters,
        _opts: &AudioDecoderOptions,
    ) -> Result<Box<dyn AudioDecoder>> {
        Ok(Box::new(OpusDecoder::try_new(params)?))
    }

    fn supported_codecs() -> &'static [SupportedAudioCodec] {
        &[support_audio_codec!(CODEC_ID_OPUS, "opus", "Opus")]
    }
}

#[cfg(test)]
mod tests {
    use super::pre_skip;

    #[test]
    fn pre_skip_reads_opus_head() {
        let mut head = b"OpusHead".to_vec();
        head.extend_from_slice(&[1, 2, 0x38, 0x01, 0x80, 0xbb, 0, 0, 0, 0, 0]);
        assert_eq!(pre_skip(&head), Some(312));
        assert_eq!(pre_skip(b"OpusTags...."), None);
        assert_eq!(pre_skip(b"Opus"), None);
    }
}
