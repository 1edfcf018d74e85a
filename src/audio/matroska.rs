//! The one Matroska/WebM fact symphonia parses but does not apply: `DiscardPadding`, the end
//! padding of WebM Opus, read with a bounded flat walk of the EBML structure.

use std::io::{self, Read, Seek, SeekFrom};

/// Reads an EBML variable-length integer; `keep_marker` for element IDs.
fn read_vint<R: Read>(r: &mut R, keep_marker: bool) -> io::Result<Option<(u64, usize)>> {
    let mut first = [0u8; 1];
    r.read_exact(&mut first)?;
    let len = first[0].leading_zeros() as usize + 1;
    if len > 8 {
        return Ok(None);
    }
    let mut value = if keep_marker {
        u64::from(first[0])
    } else {
        u64::from(first[0]) & ((1 << (8 - len)) - 1)
    };
    let mut all_ones = value == (1 << (8 - len)) - 1;
    for _ in 1..len {
        r.read_exact(&mut first)?;
        all_ones &= first[0] == 0xFF;
        value = (value << 8) | u64::from(first[0]);
    }
    if !keep_marker && all_ones {
        value = u64::MAX; // "unknown size", as live WebM writers (MediaRecorder) use
    }
    Ok(Some((value, len)))
}

/// The `DiscardPadding` (nanoseconds) of the last block of a Matroska/WebM file, if that block
/// carries one. This is how WebM Opus marks end padding; symphonia parses it but does not trim.
///
/// A flat walk: master elements (Segment, Cluster, BlockGroup) are entered, everything else is
/// skipped by its size, so unknown-size clusters from live recorders work too.
pub fn matroska_end_padding<R: Read + Seek>(r: &mut R, file_len: u64) -> io::Result<Option<u64>> {
    const SEGMENT: u64 = 0x1853_8067;
    const CLUSTER: u64 = 0x1F43_B675;
    const BLOCK_GROUP: u64 = 0xA0;
    const SIMPLE_BLOCK: u64 = 0xA3;
    const DISCARD_PADDING: u64 = 0x75A2;
    r.seek(SeekFrom::Start(0))?;
    let mut r = io::BufReader::with_capacity(1 << 16, r);
    let mut pos = 0u64;
    let mut last = None;
    for _ in 0..20_000_000u32 {
        if pos >= file_len {
            break;
        }
        let Ok(Some((id, id_len))) = read_vint(&mut r, true) else {
            break;
        };
        let Ok(Some((size, size_len))) = read_vint(&mut r, false) else {
            break;
        };
        pos += (id_len + size_len) as u64;
        match id {
            SEGMENT | CLUSTER => continue,
            BLOCK_GROUP => {
                last = None;
                continue;
            }
            SIMPLE_BLOCK => last = None,
            DISCARD_PADDING if size <= 8 => {
                let mut b = [0u8; 8];
                r.read_exact(&mut b[8 - size as usize..])?;
                let v = i64::from_be_bytes(b);
                last = u64::try_from(v).ok();
                pos += size;
                continue;
            }
            _ => {}
        }
        if size == u64::MAX || pos.saturating_add(size) > file_len {
            break;
        }
        r.seek_relative(size as i64)?;
        pos += size;
    }
    Ok(last)
}
