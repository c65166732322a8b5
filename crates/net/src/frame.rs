//! Length-prefixed frames on a QUIC stream: `u32` little-endian length, then the payload,
//! whose first byte is a [`Tag`]. A frame longer than the limit, a truncated frame or an
//! unknown tag is an error that closes the connection; it never panics and never
//! allocates more than what actually arrived.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The default largest frame. A years-long team history (a 9 MB save, or its changes one
/// by one in a sync message) fits several times over; anything larger is refused as it
/// is read, before it is buffered.
pub const DEFAULT_MAX_FRAME: usize = 64 * 1024 * 1024;

/// What a frame carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Tag {
    /// The opening of a sync stream: which team (JSON [`crate::Hello`]).
    Hello = 1,
    /// An Automerge sync message.
    Sync = 2,
    /// A join request (JSON).
    JoinRequest = 3,
    /// A join reply (JSON header).
    JoinReply = 4,
    /// The team document sent to a new member (an Automerge save).
    Document = 5,
    /// New changes pushed as they are made (raw Automerge change chunks).
    Changes = 6,
    /// The sender's heads (32-byte change hashes), after it applied what it received.
    Heads = 7,
}

impl Tag {
    fn from_byte(b: u8) -> Option<Self> {
        Some(match b {
            1 => Self::Hello,
            2 => Self::Sync,
            3 => Self::JoinRequest,
            4 => Self::JoinReply,
            5 => Self::Document,
            6 => Self::Changes,
            7 => Self::Heads,
            _ => return None,
        })
    }
}

/// Why a frame could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The declared length is over the limit.
    #[error("frame of {len} bytes is over the {max}-byte limit")]
    TooLarge {
        /// Declared length.
        len: usize,
        /// Limit.
        max: usize,
    },
    /// A frame with no tag byte.
    #[error("empty frame")]
    Empty,
    /// The tag byte is unknown.
    #[error("unknown frame tag {0}")]
    UnknownTag(u8),
    /// The stream ended inside a frame.
    #[error("the stream ended inside a frame ({have} of {want} bytes)")]
    Truncated {
        /// Bytes received.
        have: usize,
        /// Bytes expected.
        want: usize,
    },
    /// A different frame was expected here.
    #[error("expected a {expected:?} frame, got {got:?}")]
    Unexpected {
        /// Expected.
        expected: Tag,
        /// Got.
        got: Tag,
    },
    /// The transport failed.
    #[error("stream error: {0}")]
    Io(String),
}

/// Writes one frame.
pub async fn write_frame<W: AsyncWrite + Unpin>(
    w: &mut W,
    tag: Tag,
    payload: &[u8],
) -> Result<(), FrameError> {
    let len = u32::try_from(payload.len() + 1).map_err(|_| FrameError::TooLarge {
        len: payload.len() + 1,
        max: u32::MAX as usize,
    })?;
    let mut header = [0u8; 5];
    header[..4].copy_from_slice(&len.to_le_bytes());
    header[4] = tag as u8;
    w.write_all(&header)
        .await
        .map_err(|e| FrameError::Io(e.to_string()))?;
    w.write_all(payload)
        .await
        .map_err(|e| FrameError::Io(e.to_string()))
}

/// Reads one frame; `Ok(None)` at a clean end of stream (between frames).
pub async fn read_frame<R: AsyncRead + Unpin>(
    r: &mut R,
    max: usize,
) -> Result<Option<(Tag, Vec<u8>)>, FrameError> {
    let mut len_bytes = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        let n = r
            .read(&mut len_bytes[got..])
            .await
            .map_err(|e| FrameError::Io(e.to_string()))?;
        if n == 0 {
            return if got == 0 {
                Ok(None)
            } else {
                Err(FrameError::Truncated { have: got, want: 4 })
            };
        }
        got += n;
    }
    let len = u32::from_le_bytes(len_bytes) as usize;
    check_len(len, max)?;
    // Grow as bytes arrive: a lying length costs the liar, not us.
    let mut buf = Vec::with_capacity(len.min(64 * 1024));
    let mut chunk = [0u8; 16 * 1024];
    while buf.len() < len {
        let want = (len - buf.len()).min(chunk.len());
        let n = r
            .read(&mut chunk[..want])
            .await
            .map_err(|e| FrameError::Io(e.to_string()))?;
        if n == 0 {
            return Err(FrameError::Truncated {
                have: buf.len(),
                want: len,
            });
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let tag = Tag::from_byte(buf[0]).ok_or(FrameError::UnknownTag(buf[0]))?;
    buf.remove(0);
    Ok(Some((tag, buf)))
}

fn check_len(len: usize, max: usize) -> Result<(), FrameError> {
    if len == 0 {
        return Err(FrameError::Empty);
    }
    if len > max {
        return Err(FrameError::TooLarge { len, max });
    }
    Ok(())
}

/// Reads a frame that must be of a given kind.
pub async fn expect_frame<R: AsyncRead + Unpin>(
    r: &mut R,
    expected: Tag,
    max: usize,
) -> Result<Vec<u8>, FrameError> {
    match read_frame(r, max).await? {
        Some((tag, payload)) if tag == expected => Ok(payload),
        Some((got, _)) => Err(FrameError::Unexpected { expected, got }),
        None => Err(FrameError::Truncated { have: 0, want: 5 }),
    }
}

/// Frames decoded from a buffer, and how many bytes they used.
pub type Decoded<'a> = (Vec<(Tag, &'a [u8])>, usize);

/// Decodes every complete frame in a byte buffer (sans-IO; used by the fuzz tests).
/// Returns the frames and how many bytes they used, or the first error.
pub fn decode_all(mut bytes: &[u8], max: usize) -> Result<Decoded<'_>, FrameError> {
    let mut frames = Vec::new();
    let mut used = 0;
    while bytes.len() >= 4 {
        let len = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
        check_len(len, max)?;
        let Some(body) = bytes.get(4..4 + len) else {
            break;
        };
        let tag = Tag::from_byte(body[0]).ok_or(FrameError::UnknownTag(body[0]))?;
        frames.push((tag, &body[1..]));
        used += 4 + len;
        bytes = &bytes[4 + len..];
    }
    Ok((frames, used))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[tokio::test]
    async fn round_trips_and_ends_cleanly() {
        let mut buf = Vec::new();
        write_frame(&mut buf, Tag::Sync, b"hello")
            .await
            .expect("write");
        write_frame(&mut buf, Tag::Hello, b"").await.expect("write");
        let mut r = &buf[..];
        assert_eq!(
            read_frame(&mut r, 100).await.expect("read"),
            Some((Tag::Sync, b"hello".to_vec()))
        );
        assert_eq!(
            read_frame(&mut r, 100).await.expect("read"),
            Some((Tag::Hello, vec![]))
        );
        assert_eq!(read_frame(&mut r, 100).await.expect("read"), None);
    }

    #[tokio::test]
    async fn rejects_oversized_truncated_empty_and_unknown() {
        let mut r = &[0xff, 0xff, 0xff, 0x7f, 2][..];
        assert!(matches!(
            read_frame(&mut r, 1000).await,
            Err(FrameError::TooLarge { .. })
        ));
        let mut buf = Vec::new();
        write_frame(&mut buf, Tag::Sync, b"0123456789")
            .await
            .expect("write");
        for cut in 1..buf.len() {
            let mut r = &buf[..cut];
            assert!(
                matches!(
                    read_frame(&mut r, 1000).await,
                    Err(FrameError::Truncated { .. })
                ),
                "cut {cut}"
            );
        }
        let mut r = &[0, 0, 0, 0][..];
        assert!(matches!(
            read_frame(&mut r, 10).await,
            Err(FrameError::Empty)
        ));
        let mut r = &[1, 0, 0, 0, 99][..];
        assert!(matches!(
            read_frame(&mut r, 10).await,
            Err(FrameError::UnknownTag(99))
        ));
    }

    proptest! {
        #[test]
        fn decoding_random_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
            let _ = decode_all(&bytes, 256);
        }

        #[test]
        fn streamed_and_buffered_decoding_agree(payloads in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..64), 0..8)) {
            let rt = tokio::runtime::Builder::new_current_thread().build().expect("rt");
            let mut buf = Vec::new();
            for p in &payloads {
                rt.block_on(write_frame(&mut buf, Tag::Sync, p)).expect("write");
            }
            let (frames, used) = decode_all(&buf, 1024).expect("decode");
            prop_assert_eq!(used, buf.len());
            prop_assert_eq!(frames.len(), payloads.len());
            for ((tag, body), p) in frames.iter().zip(&payloads) {
                prop_assert_eq!(*tag, Tag::Sync);
                prop_assert_eq!(*body, &p[..]);
            }
        }
    }
}
