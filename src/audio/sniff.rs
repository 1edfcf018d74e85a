//! Container facts fangyan reads itself, before or beside symphonia.
//!
//! Symphonia demuxes everything we accept, but a few facts that decide *timing* and *honesty*
//! are not exposed by it, so we read them here with bounded, seek-based walks that never size
//! a buffer from a length field:
//! - the MP4 edit list (`elst`), which ffmpeg and every player use to drop AAC priming samples
//!   and end padding; without it symphonia starts AAC 1 024 samples late;
//! - RIFF/WAVE chunk layout: a second, conflicting `fmt ` chunk (symphonia silently uses the
//!   last one and decodes garbage) and a `data` chunk that claims more bytes than the file has;
//! - what a non-audio file looks like, so the error can say "this is a PNG";
//! - archives and compressed files (ZIP, 7z, RAR, gzip, ...), refused before probing: the
//!   probe scans forward for a known signature, so a WAV stored uncompressed inside a ZIP
//!   would otherwise be accepted as audio.

use std::io::{self, Read, Seek, SeekFrom};

pub use super::matroska::matroska_end_padding;

/// The single edit of an MP4 audio track, in the track's media timescale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EditList {
    /// Media time where presentation starts (the priming samples to skip).
    pub media_start: u64,
    /// Presented length in media timescale units, if the movie timescale was readable.
    pub media_len: Option<u64>,
    /// Media timescale (`mdhd`), normally the sample rate.
    pub timescale: u32,
}

/// What the RIFF/WAVE chunk walk found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WavLayout {
    /// Number of `fmt ` chunks.
    pub fmt_chunks: u32,
    /// The first `fmt ` chunk, if it was complete.
    pub fmt: Option<WavFmt>,
    /// The first `fmt ` chunk is shorter than 16 bytes or runs past the end of the file.
    pub fmt_damaged: bool,
    /// The first `data` chunk claims more bytes than remain in the file.
    pub data_overclaimed: bool,
    /// Declared length of the first `data` chunk.
    pub data_len: Option<u64>,
}

/// The fields of a WAVE `fmt ` chunk that decide whether the stream is usable.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WavFmt {
    /// `wFormatTag` (1 PCM, 3 float, 6 A-law, 7 mu-law, 0xFFFE extensible, ...).
    pub format_tag: u16,
    /// Channel count.
    pub channels: u16,
    /// Sample rate in Hz.
    pub sample_rate: u32,
    /// Bytes per frame.
    pub block_align: u16,
    /// Bits per sample.
    pub bits_per_sample: u16,
}

impl WavFmt {
    /// Whether this is uncompressed (one frame is exactly `block_align` bytes).
    pub fn is_uncompressed(&self) -> bool {
        matches!(self.format_tag, 1 | 3 | 6 | 7 | 0xFFFE)
    }
}

/// Names the audio container whose signature starts `head`, if any. ID3 alone is not audio.
pub fn audio_magic(head: &[u8]) -> Option<&'static str> {
    let at = |off: usize, m: &[u8]| head.get(off..off + m.len()) == Some(m);
    if at(0, b"RIFF") && (head.len() < 12 || at(8, b"WAVE")) {
        Some("WAV")
    } else if at(0, b"fLaC") {
        Some("FLAC")
    } else if at(0, b"OggS") {
        Some("Ogg")
    } else if at(4, b"ftyp") {
        Some("MP4")
    } else if at(0, b"FORM") {
        Some("AIFF")
    } else if at(0, b"caff") {
        Some("CAF")
    } else if at(0, &[0x1A, 0x45, 0xDF, 0xA3]) {
        Some("Matroska/WebM")
    } else if head.len() >= 4 && is_mpeg_audio_header(&head[..4]) {
        Some("MP3")
    } else {
        None
    }
}

/// Names the archive or compressed container whose signature starts `head`, if any.
///
/// Checked before any audio probe: these wrap other files, and a probe that scans forward
/// would find (and accept) a recording stored inside one.
pub fn archive_magic(head: &[u8]) -> Option<&'static str> {
    let at = |off: usize, m: &[u8]| head.get(off..off + m.len()) == Some(m);
    if at(0, b"PK\x03\x04") || at(0, b"PK\x05\x06") || at(0, b"PK\x07\x08") {
        Some("a ZIP archive")
    } else if at(0, b"7z\xBC\xAF\x27\x1C") {
        Some("a 7z archive")
    } else if at(0, b"Rar!\x1A\x07") {
        Some("a RAR archive")
    } else if at(0, &[0x1F, 0x8B]) {
        Some("a gzip file")
    } else if at(0, b"BZh") && head.get(3).is_some_and(|d| (b'1'..=b'9').contains(d)) {
        Some("a bzip2 file")
    } else if at(0, b"\xFD7zXZ\x00") {
        Some("an xz file")
    } else if at(0, &[0x28, 0xB5, 0x2F, 0xFD]) {
        Some("a Zstandard file")
    } else if at(257, b"ustar") {
        Some("a tar archive")
    } else {
        None
    }
}

/// A plausible MPEG audio frame header: sync, a defined version and layer, and legal
/// bitrate and sample-rate indices (so 0xFF padding does not count).
fn is_mpeg_audio_header(h: &[u8]) -> bool {
    h[0] == 0xFF
        && h[1] & 0xE0 == 0xE0
        && (h[1] >> 3) & 0b11 != 0b01
        && (h[1] >> 1) & 0b11 != 0
        && h[2] >> 4 != 0xF
        && (h[2] >> 2) & 0b11 != 0b11
}

/// Upper bound on boxes/chunks visited, so a file of 20 000 empty chunks stays linear and a
/// hostile file cannot make us loop for long.
const MAX_NODES: u32 = 200_000;

/// Names the kind of a non-audio file from its first bytes, for error messages.
pub fn describe_non_audio(head: &[u8]) -> Option<&'static str> {
    let starts = |m: &[u8]| head.starts_with(m);
    let lower: Vec<u8> = head.iter().take(256).map(u8::to_ascii_lowercase).collect();
    let contains = |m: &[u8]| lower.windows(m.len()).any(|w| w == m);
    if starts(b"\x89PNG") {
        Some("a PNG image")
    } else if starts(b"\x7fELF") {
        Some("an ELF executable")
    } else if let Some(archive) = archive_magic(head) {
        Some(archive)
    } else if starts(b"RIFF") && head.get(8..12) == Some(b"AVI ") {
        Some("an AVI video container")
    } else if contains(b"<svg") {
        Some("an SVG image")
    } else if contains(b"<html") || contains(b"<!doctype") || contains(b"<script") {
        Some("an HTML document")
    } else if !head.is_empty() && head.iter().all(|&b| b == 0) {
        Some("all zero bytes")
    } else if !head.is_empty()
        && head
            .iter()
            .all(|&b| b == b'\n' || b == b'\r' || b == b'\t' || (0x20..0x7f).contains(&b))
    {
        Some("plain text")
    } else {
        None
    }
}

fn read_u32(r: &mut impl Read) -> io::Result<u32> {
    let mut b = [0; 4];
    r.read_exact(&mut b)?;
    Ok(u32::from_be_bytes(b))
}

fn read_u64(r: &mut impl Read) -> io::Result<u64> {
    let mut b = [0; 8];
    r.read_exact(&mut b)?;
    Ok(u64::from_be_bytes(b))
}

/// One ISO-BMFF box header: its type and the byte range of its body.
struct BoxHeader {
    kind: [u8; 4],
    body_start: u64,
    end: u64,
}

fn next_box<R: Read + Seek>(r: &mut R, pos: u64, parent_end: u64) -> io::Result<Option<BoxHeader>> {
    if pos + 8 > parent_end {
        return Ok(None);
    }
    r.seek(SeekFrom::Start(pos))?;
    let size32 = read_u32(r)?;
    let mut kind = [0; 4];
    r.read_exact(&mut kind)?;
    let (size, header) = match size32 {
        0 => (parent_end - pos, 8),
        1 => (read_u64(r)?, 16),
        n => (u64::from(n), 8),
    };
    if size < header || pos.saturating_add(size) > parent_end {
        return Ok(None);
    }
    Ok(Some(BoxHeader {
        kind,
        body_start: pos + header,
        end: pos + size,
    }))
}

/// Finds the first child box of `kind` inside `[start, end)`.
fn find_child<R: Read + Seek>(
    r: &mut R,
    start: u64,
    end: u64,
    kind: &[u8; 4],
    budget: &mut u32,
) -> io::Result<Option<BoxHeader>> {
    let mut pos = start;
    while let Some(b) = next_box(r, pos, end)? {
        *budget = budget.saturating_sub(1);
        if *budget == 0 {
            return Ok(None);
        }
        if &b.kind == kind {
            return Ok(Some(b));
        }
        pos = b.end;
    }
    Ok(None)
}

/// Reads (timescale) from an `mvhd` or `mdhd` full box body.
fn timescale<R: Read + Seek>(r: &mut R, b: &BoxHeader) -> io::Result<u32> {
    r.seek(SeekFrom::Start(b.body_start))?;
    let version = read_u32(r)? >> 24;
    let skip = if version == 1 { 16 } else { 8 };
    r.seek(SeekFrom::Current(skip))?;
    read_u32(r)
}

/// The edit list of the first sound track of an MP4/M4A/MOV file, if it has a usable one.
///
/// Returns `None` for anything that is not ISO-BMFF or has no single non-empty edit; the
/// caller then decodes without trimming, as ffmpeg does.
pub fn mp4_edit_list<R: Read + Seek>(r: &mut R, file_len: u64) -> io::Result<Option<EditList>> {
    let mut budget = MAX_NODES;
    let Some(moov) = find_child(r, 0, file_len, b"moov", &mut budget)? else {
        return Ok(None);
    };
    let movie_ts = match find_child(r, moov.body_start, moov.end, b"mvhd", &mut budget)? {
        Some(mvhd) => timescale(r, &mvhd)?,
        None => 0,
    };
    let mut pos = moov.body_start;
    while let Some(trak) = next_box(r, pos, moov.end)? {
        pos = trak.end;
        budget = budget.saturating_sub(1);
        if budget == 0 {
            break;
        }
        if &trak.kind != b"trak" {
            continue;
        }
        let Some(mdia) = find_child(r, trak.body_start, trak.end, b"mdia", &mut budget)? else {
            continue;
        };
        let Some(hdlr) = find_child(r, mdia.body_start, mdia.end, b"hdlr", &mut budget)? else {
            continue;
        };
        r.seek(SeekFrom::Start(hdlr.body_start + 8))?;
        let mut handler = [0; 4];
        r.read_exact(&mut handler)?;
        if &handler != b"soun" {
            continue;
        }
        let Some(mdhd) = find_child(r, mdia.body_start, mdia.end, b"mdhd", &mut budget)? else {
            return Ok(None);
        };
        let media_ts = timescale(r, &mdhd)?;
        let Some(edts) = find_child(r, trak.body_start, trak.end, b"edts", &mut budget)? else {
            return Ok(None);
        };
        let Some(elst) = find_child(r, edts.body_start, edts.end, b"elst", &mut budget)? else {
            return Ok(None);
        };
        return read_elst(r, &elst, movie_ts, media_ts);
    }
    Ok(None)
}

fn read_elst<R: Read + Seek>(
    r: &mut R,
    elst: &BoxHeader,
    movie_ts: u32,
    media_ts: u32,
) -> io::Result<Option<EditList>> {
    r.seek(SeekFrom::Start(elst.body_start))?;
    let version = read_u32(r)? >> 24;
    let count = read_u32(r)?;
    let entry_len = if version == 1 { 20 } else { 12 };
    if media_ts == 0 || u64::from(count) * entry_len > elst.end - elst.body_start {
        return Ok(None);
    }
    let mut found = None;
    for _ in 0..count.min(16) {
        let (dur, time) = if version == 1 {
            (read_u64(r)?, read_u64(r)? as i64)
        } else {
            (u64::from(read_u32(r)?), i64::from(read_u32(r)? as i32))
        };
        let _rate = read_u32(r)?;
        if time < 0 {
            continue; // an empty edit (a delay before the track starts)
        }
        if found.is_some() {
            return Ok(None); // several media edits: beyond what we trim
        }
        let media_len = (movie_ts > 0 && dur > 0)
            .then(|| (u128::from(dur) * u128::from(media_ts) / u128::from(movie_ts)) as u64);
        found = Some(EditList {
            media_start: time as u64,
            media_len,
            timescale: media_ts,
        });
    }
    Ok(found)
}

/// Walks the chunks of a RIFF/WAVE file. Returns `None` if it is not one.
pub fn wav_layout<R: Read + Seek>(r: &mut R, file_len: u64) -> io::Result<Option<WavLayout>> {
    let mut head = [0; 12];
    r.seek(SeekFrom::Start(0))?;
    if r.read_exact(&mut head).is_err() || &head[..4] != b"RIFF" || &head[8..] != b"WAVE" {
        return Ok(None);
    }
    let mut layout = WavLayout::default();
    let mut seen_data = false;
    let mut pos = 12u64;
    for _ in 0..MAX_NODES {
        if pos + 8 > file_len {
            break;
        }
        r.seek(SeekFrom::Start(pos))?;
        let mut id = [0; 4];
        r.read_exact(&mut id)?;
        let mut len = [0; 4];
        r.read_exact(&mut len)?;
        let len = u64::from(u32::from_le_bytes(len));
        match &id {
            b"fmt " => {
                layout.fmt_chunks += 1;
                if layout.fmt_chunks == 1 {
                    if len < 16 || pos + 8 + len > file_len {
                        layout.fmt_damaged = true;
                    } else {
                        let mut b = [0u8; 16];
                        r.read_exact(&mut b)?;
                        let u16_at = |i: usize| u16::from_le_bytes([b[i], b[i + 1]]);
                        layout.fmt = Some(WavFmt {
                            format_tag: u16_at(0),
                            channels: u16_at(2),
                            sample_rate: u32::from_le_bytes([b[4], b[5], b[6], b[7]]),
                            block_align: u16_at(12),
                            bits_per_sample: u16_at(14),
                        });
                    }
                }
            }
            b"data" if !seen_data => {
                seen_data = true;
                layout.data_overclaimed = pos + 8 + len > file_len;
                layout.data_len = Some(len);
            }
            _ => {}
        }
        pos = pos + 8 + len + (len & 1);
    }
    Ok(Some(layout))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn mp4_box(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut v = ((body.len() + 8) as u32).to_be_bytes().to_vec();
        v.extend_from_slice(kind);
        v.extend_from_slice(body);
        v
    }

    fn full_box_ts(kind: &[u8; 4], ts: u32) -> Vec<u8> {
        let mut body = vec![0; 12];
        body.extend_from_slice(&ts.to_be_bytes());
        body.extend_from_slice(&[0; 4]);
        mp4_box(kind, &body)
    }

    #[test]
    fn reads_the_aac_priming_edit() {
        let mut elst = vec![0, 0, 0, 0, 0, 0, 0, 1];
        elst.extend_from_slice(&500u32.to_be_bytes()); // 0.5 s at movie timescale 1000
        elst.extend_from_slice(&1024u32.to_be_bytes());
        elst.extend_from_slice(&0x0001_0000u32.to_be_bytes());
        let mut hdlr = vec![0; 8];
        hdlr.extend_from_slice(b"soun");
        hdlr.extend_from_slice(&[0; 12]);
        let mdia = [mp4_box(b"hdlr", &hdlr), full_box_ts(b"mdhd", 16_000)].concat();
        let trak = [
            mp4_box(b"edts", &mp4_box(b"elst", &elst)),
            mp4_box(b"mdia", &mdia),
        ]
        .concat();
        let moov = [full_box_ts(b"mvhd", 1000), mp4_box(b"trak", &trak)].concat();
        let file = [mp4_box(b"ftyp", b"M4A \0\0\0\0"), mp4_box(b"moov", &moov)].concat();
        let len = file.len() as u64;
        let edit = mp4_edit_list(&mut Cursor::new(file), len).unwrap();
        assert_eq!(
            edit,
            Some(EditList {
                media_start: 1024,
                media_len: Some(8000),
                timescale: 16_000
            })
        );
    }

    #[test]
    fn lying_box_sizes_end_the_walk() {
        let mut file = mp4_box(b"ftyp", b"M4A ");
        file.extend_from_slice(&0xFFFF_FFF0u32.to_be_bytes());
        file.extend_from_slice(b"moov");
        let len = file.len() as u64;
        assert_eq!(mp4_edit_list(&mut Cursor::new(file), len).unwrap(), None);
    }

    #[test]
    fn counts_wav_fmt_chunks_and_overclaimed_data() {
        let mut f = b"RIFF\0\0\0\0WAVE".to_vec();
        for _ in 0..2 {
            f.extend_from_slice(b"fmt \x10\0\0\0");
            f.extend_from_slice(&[0; 16]);
        }
        f.extend_from_slice(b"data\xff\xff\0\0\0\0");
        let len = f.len() as u64;
        let l = wav_layout(&mut Cursor::new(f), len).unwrap().unwrap();
        assert_eq!(l.fmt_chunks, 2);
        assert!(l.data_overclaimed);
        assert_eq!(l.fmt, Some(WavFmt::default()));
    }

    #[test]
    fn recognises_audio_signatures_but_not_padding() {
        assert_eq!(audio_magic(b"RIFF"), Some("WAV"));
        assert_eq!(audio_magic(b"RIFF\0\0\0\0AVI LIST"), None);
        assert_eq!(audio_magic(&[0xFF, 0xFB, 0x90, 0x64]), Some("MP3"));
        assert_eq!(audio_magic(&[0xFF; 8]), None);
        assert_eq!(audio_magic(b"ID3\x04\0\0\0\0\0\0"), None);
    }

    #[test]
    fn names_archives_but_not_audio() {
        assert_eq!(archive_magic(b"PK\x03\x04\x14\0"), Some("a ZIP archive"));
        assert_eq!(
            archive_magic(b"7z\xBC\xAF\x27\x1C\0\x04"),
            Some("a 7z archive")
        );
        assert_eq!(archive_magic(b"Rar!\x1A\x07\x01\0"), Some("a RAR archive"));
        assert_eq!(archive_magic(&[0x1F, 0x8B, 8, 0]), Some("a gzip file"));
        let mut tar = vec![0; 512];
        tar[257..262].copy_from_slice(b"ustar");
        assert_eq!(archive_magic(&tar), Some("a tar archive"));
        assert_eq!(archive_magic(b"RIFF\0\0\0\0WAVEfmt "), None);
        assert_eq!(archive_magic(b"fLaC\0\0\0\x22"), None);
    }

    #[test]
    fn names_common_non_audio() {
        assert_eq!(describe_non_audio(b"\x89PNG\r\n"), Some("a PNG image"));
        assert_eq!(
            describe_non_audio(b"<!DOCTYPE html><script>"),
            Some("an HTML document")
        );
        assert_eq!(describe_non_audio(&[0xde, 0xad, 0xbe, 0xef]), None);
    }
}
