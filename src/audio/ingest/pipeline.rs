//! The writing half of an ingest: the decoder's chunks resampled on a thread of their own
//! into the 16-bit analysis WAV and the peak pyramid, through bounded channels (see the parent
//! module's doc), and the block reader the analyses share.

use std::io::{self, BufWriter, Seek, Write};
use std::path::Path;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread;

use super::{CHUNK_SAMPLES, IN_FLIGHT, IngestOptions, join};
use crate::analysis::peaks::PeakBuilder;
use crate::audio::decode::{DecodeSummary, Decoder};
use crate::audio::error::IngestError;
use crate::audio::resample::{DEFAULT_CHUNK, StreamResampler};

/// Decodes on this thread while another resamples and writes the 16-bit WAV to `wav` and the
/// peak pyramid to `peaks` (its coarser levels staged in `scratch` as `stem.*`). Hands both
/// outputs back, written but not committed.
pub(super) fn decode_and_write<
    W: Write + Seek + Send + 'static,
    P: Write + Seek + Send + 'static,
>(
    mut decoder: Decoder,
    opts: IngestOptions,
    wav: W,
    peaks: P,
    scratch: &Path,
    stem: &str,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<(DecodeSummary, u64, W, P), IngestError> {
    let from = decoder.info().sample_rate;
    let (tx, rx) = sync_channel::<Vec<f32>>(IN_FLIGHT);
    let (back_tx, back_rx) = sync_channel::<Vec<f32>>(IN_FLIGHT + 2);
    let mut peaks = PeakBuilder::streaming(peaks, scratch, stem, opts.rate)?;
    let writer = thread::spawn(move || {
        let mut wav = wav;
        let written = write_analysis(rx, back_tx, from, opts.rate, &mut wav, &mut peaks);
        match written {
            Ok(frames) => peaks
                .finish_into()
                .map(|p| (frames, wav, p))
                .map_err(IngestError::from),
            Err(e) => {
                peaks.abandon();
                Err(e)
            }
        }
    });

    let decoded = pump(&mut decoder, &tx, &back_rx, progress);
    drop(tx);
    let written = join(writer);
    decoded?;
    let (frames, wav, peaks) = written?;
    Ok((decoder.finish()?, frames, wav, peaks))
}

fn pump(
    decoder: &mut Decoder,
    tx: &SyncSender<Vec<f32>>,
    recycled: &Receiver<Vec<f32>>,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<(), IngestError> {
    let mut chunk = Vec::with_capacity(CHUNK_SAMPLES + 8192);
    let mut more = true;
    while more {
        more = decoder.next_chunk(&mut chunk)?;
        if chunk.len() >= CHUNK_SAMPLES || (!more && !chunk.is_empty()) {
            let next = recycled
                .try_recv()
                .unwrap_or_else(|_| Vec::with_capacity(CHUNK_SAMPLES + 8192));
            let full = std::mem::replace(&mut chunk, next);
            if tx.send(full).is_err() {
                // The writer stopped early; its own error is the one to report.
                return Ok(());
            }
            let (done, total) = decoder.progress();
            progress(done, total);
        }
    }
    Ok(())
}

fn write_analysis<W: Write + Seek, P: Write + Seek>(
    rx: Receiver<Vec<f32>>,
    recycle: SyncSender<Vec<f32>>,
    from: u32,
    to: u32,
    out: &mut W,
    peaks: &mut PeakBuilder<P>,
) -> Result<u64, IngestError> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: to,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let file = BufWriter::with_capacity(1 << 16, out);
    let mut wav = hound::WavWriter::new(file, spec).map_err(hound_err)?;
    let mut resampler = StreamResampler::new(from, to, DEFAULT_CHUNK)?;
    let mut pcm = Vec::new();
    let mut sink = |out: &[f32]| -> Result<(), IngestError> {
        pcm.clear();
        pcm.extend(
            out.iter()
                .map(|&s| (s.clamp(-1.0, 1.0) * 32767.0).round() as i16),
        );
        let mut w = wav.get_i16_writer(pcm.len() as u32);
        for &s in &pcm {
            w.write_sample(s);
        }
        w.flush().map_err(hound_err)?;
        // The peak pyramid is built from the very samples written: one pass over the audio.
        peaks.push(&pcm)?;
        Ok(())
    };
    for mut chunk in rx {
        resampler.push(&chunk, &mut sink)?;
        chunk.clear();
        let _ = recycle.try_send(chunk);
    }
    let frames = resampler.finish(&mut sink)?;
    wav.finalize().map_err(hound_err)?;
    Ok(frames)
}

/// Reads up to `len` samples from `start` of a 16-bit mono analysis copy, as f32 in [-1, 1).
pub fn read_block<R: io::Read + io::Seek>(
    wav: &mut hound::WavReader<R>,
    start: usize,
    len: usize,
) -> Vec<f32> {
    if wav.seek(start as u32).is_err() {
        return Vec::new();
    }
    wav.samples::<i16>()
        .take(len)
        .map_while(Result::ok)
        .map(|s| f32::from(s) / 32768.0)
        .collect()
}

fn hound_err(e: hound::Error) -> IngestError {
    match e {
        hound::Error::IoError(io) => IngestError::Io(io),
        other => IngestError::Io(io::Error::other(other)),
    }
}
