//! How a tar stream travels: as is (`identity`), gzip, or zstd. Gzip holds one core at about
//! 60 MB/s, which on a Unix socket or loopback is pure cost (a tar pipe moves a GB/s), so
//! the sender picks by link: nothing on the socket and loopback, zstd (multithreaded) over
//! a real network. Gzip stays for older clients and for `?format=tar.gz` downloads.
//!
//! On the wire an upload says `Content-Type: application/x-tar` and `Content-Encoding`; a
//! bare `application/gzip` body is the older tar.gz. A `?format=tar` download picks from the
//! client's `Accept-Encoding`. The receiver's limits count unpacked bytes (the decoder is
//! only read as far as the tar's entries go), whatever the encoding.

use crate::client::Endpoint;
use std::io::{self, BufRead, Read, Write};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Identity,
    Gzip,
    Zstd,
}

/// The media type of a tar stream, whatever its `Content-Encoding`.
pub const TAR: &str = "application/x-tar";
/// The media type of a tar.gz (older clients' uploads, `?format=tar.gz` downloads).
pub const TGZ: &str = "application/gzip";

/// Chosen over the link when set: `identity`, `gzip` or `zstd` (for benchmarks, and for a
/// slow network that looks local).
pub const ENV: &str = "JOBO_ENCODING";

/// zstd level: 1 keeps up with a gigabit link on one core, and a few workers go further.
const ZSTD_LEVEL: i32 = 1;
/// Largest zstd window a receiver accepts (2^27 = 128 MiB, zstd's own default limit): a
/// crafted frame cannot make the decoder allocate more.
const ZSTD_WINDOW_LOG_MAX: u32 = 27;

impl Encoding {
    /// Its `Content-Encoding` token.
    pub fn token(self) -> &'static str {
        match self {
            Encoding::Identity => "identity",
            Encoding::Gzip => "gzip",
            Encoding::Zstd => "zstd",
        }
    }

    pub fn parse(token: &str) -> Option<Encoding> {
        match token.trim().to_ascii_lowercase().as_str() {
            "identity" | "" => Some(Encoding::Identity),
            "gzip" | "x-gzip" => Some(Encoding::Gzip),
            "zstd" => Some(Encoding::Zstd),
            _ => None,
        }
    }

    /// How a tar body with these `Content-Type` and `Content-Encoding` values is encoded:
    /// `application/x-tar` as its encoding says (none is `identity`), anything else the
    /// older tar.gz; `Err` with the token for an encoding not known here.
    pub fn of_body<'a>(
        content_type: Option<&str>,
        content_encoding: Option<&'a str>,
    ) -> Result<Encoding, &'a str> {
        let is_tar = content_type
            .and_then(|t| t.split(';').next())
            .is_some_and(|t| t.trim().eq_ignore_ascii_case(TAR));
        if !is_tar {
            return Ok(Encoding::Gzip);
        }
        let coding = content_encoding.unwrap_or("identity");
        Encoding::parse(coding).ok_or(coding)
    }

    /// What to send on `endpoint`: nothing on a Unix socket or loopback, zstd elsewhere;
    /// `JOBO_ENCODING` overrides.
    pub fn for_endpoint(endpoint: &Endpoint) -> Encoding {
        if let Some(e) = std::env::var(ENV).ok().as_deref().and_then(Encoding::parse) {
            return e;
        }
        match endpoint.authority() {
            None => Encoding::Identity,
            Some(authority) if is_loopback(authority) => Encoding::Identity,
            Some(_) => Encoding::Zstd,
        }
    }

    /// The first encoding of an `Accept-Encoding` value this server can send (q-values are
    /// read as order, `q=0` as absent); `identity` when none is named.
    pub fn negotiate(accept: Option<&str>) -> Encoding {
        accept
            .into_iter()
            .flat_map(|v| v.split(','))
            .filter(|item| !item.split(';').skip(1).any(|p| p.trim() == "q=0"))
            .filter_map(|item| item.split(';').next().and_then(Encoding::parse))
            .next()
            .unwrap_or(Encoding::Identity)
    }

    /// Wraps `out` so that what is written to it goes out encoded; `finish` ends the stream.
    pub fn encoder<W: Write>(self, out: W) -> io::Result<Encoder<W>> {
        Ok(match self {
            Encoding::Identity => Encoder::Identity(out),
            Encoding::Gzip => Encoder::Gzip(flate2::write::GzEncoder::new(
                out,
                flate2::Compression::fast(),
            )),
            Encoding::Zstd => {
                let mut z = zstd::stream::write::Encoder::new(out, ZSTD_LEVEL)?;
                let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
                // Workers beside this thread; one more than the cores keeps them all busy.
                z.multithread(u32::try_from(workers).unwrap_or(1))?;
                Encoder::Zstd(z)
            }
        })
    }

    /// Reads the plain stream out of `src`.
    pub fn decoder<'a, R: BufRead + 'a>(self, src: R) -> io::Result<Box<dyn Read + 'a>> {
        Ok(match self {
            Encoding::Identity => Box::new(src),
            Encoding::Gzip => Box::new(flate2::bufread::GzDecoder::new(src)),
            Encoding::Zstd => {
                let mut z = zstd::stream::read::Decoder::with_buffer(src)?;
                z.window_log_max(ZSTD_WINDOW_LOG_MAX)?;
                Box::new(z)
            }
        })
    }
}

/// `host:port` on this machine's loopback: `localhost`, `127.0.0.0/8`, `[::1]`.
fn is_loopback(authority: &str) -> bool {
    let host = authority
        .rsplit_once(':')
        .map_or(authority, |(h, _)| h)
        .trim_start_matches('[')
        .trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// A writer that encodes as one [`Encoding`] says.
pub enum Encoder<W: Write> {
    Identity(W),
    Gzip(flate2::write::GzEncoder<W>),
    Zstd(zstd::stream::write::Encoder<'static, W>),
}

impl<W: Write> Encoder<W> {
    /// Writes the stream's end and gives the writer back.
    pub fn finish(self) -> io::Result<W> {
        match self {
            Encoder::Identity(w) => Ok(w),
            Encoder::Gzip(g) => g.finish(),
            Encoder::Zstd(z) => z.finish(),
        }
    }
}

impl<W: Write> Write for Encoder<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Encoder::Identity(w) => w.write(buf),
            Encoder::Gzip(g) => g.write(buf),
            Encoder::Zstd(z) => z.write(buf),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            Encoder::Identity(w) => w.write_all(buf),
            Encoder::Gzip(g) => g.write_all(buf),
            Encoder::Zstd(z) => z.write_all(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Encoder::Identity(w) => w.flush(),
            Encoder::Gzip(g) => g.flush(),
            Encoder::Zstd(z) => z.flush(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiates_from_accept_encoding() {
        assert_eq!(Encoding::negotiate(None), Encoding::Identity);
        assert_eq!(Encoding::negotiate(Some("zstd, gzip")), Encoding::Zstd);
        assert_eq!(Encoding::negotiate(Some("br, gzip;q=0.5")), Encoding::Gzip);
        assert_eq!(Encoding::negotiate(Some("zstd;q=0, gzip")), Encoding::Gzip);
        assert_eq!(Encoding::negotiate(Some("br")), Encoding::Identity);
    }

    #[test]
    fn reads_a_body_s_headers() {
        let of = Encoding::of_body;
        assert_eq!(of(Some("application/gzip"), None), Ok(Encoding::Gzip));
        assert_eq!(of(None, Some("zstd")), Ok(Encoding::Gzip));
        assert_eq!(of(Some("application/x-tar"), None), Ok(Encoding::Identity));
        assert_eq!(
            of(Some("application/x-tar"), Some("zstd")),
            Ok(Encoding::Zstd)
        );
        assert_eq!(of(Some("application/x-tar"), Some("br")), Err("br"));
    }

    #[test]
    fn picks_by_link() {
        let pick = |s: &str| Endpoint::parse(s).map(|e| Encoding::for_endpoint(&e)).ok();
        if std::env::var_os(ENV).is_some() {
            return;
        }
        assert_eq!(pick("unix:///run/x.sock"), Some(Encoding::Identity));
        assert_eq!(pick("http://127.0.0.1:80"), Some(Encoding::Identity));
        assert_eq!(pick("http://localhost:80"), Some(Encoding::Identity));
        assert_eq!(pick("http://[::1]:80"), Some(Encoding::Identity));
        assert_eq!(pick("https://node7:9000"), Some(Encoding::Zstd));
        assert_eq!(pick("http://10.0.0.2:9000"), Some(Encoding::Zstd));
    }

    #[test]
    fn round_trips_every_encoding() -> io::Result<()> {
        let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        for e in [Encoding::Identity, Encoding::Gzip, Encoding::Zstd] {
            let mut enc = e.encoder(Vec::new())?;
            enc.write_all(&data)?;
            let packed = enc.finish()?;
            let mut back = Vec::new();
            e.decoder(&packed[..])?.read_to_end(&mut back)?;
            assert_eq!(back, data, "{e:?}");
        }
        Ok(())
    }
}
