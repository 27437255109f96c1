//! What is inside `keys.age` and how it is sealed.
//!
//! Plaintext: a first line `crossrole-keys 1`, then one line per entry,
//! `NAME HEX(VALUE)`. Names are checked entry names (printable ASCII, no
//! space), so the format needs no escaping, and every byte of a value
//! survives. All buffers holding plaintext are zeroized on drop.
//!
//! Sealing: the age format with one scrypt passphrase recipient, through
//! the `age` crate's own API (no crypto of ours). The work factor is
//! [`LOG_N`]; see there for why.

use std::collections::BTreeMap;
use std::io::{Read, Write};

use age::secrecy::SecretString;
use zeroize::Zeroizing;

use super::SecretBytes;

const MAGIC: &[u8] = b"crossrole-keys 1\n";

/// scrypt work factor (N = 2^LOG_N, r = 8): 64 MiB of memory per try.
/// age's own default measures the machine and targets about one second
/// (2^18 or more, 256 MiB). crossrole pays this on every unlock (every AWS
/// call when no kernel keyring can keep the unlock) and twice per `setup`
/// (check the old passphrase, seal the new file), often on small headless
/// VMs and containers with tight memory limits. 2^16 keeps an unlock well
/// under half a second there while still costing an attacker 64 MiB and
/// 2^16 rounds per guess; the passphrase's strength matters far more than
/// the factor. Files written with a higher factor still open (up to
/// [`MAX_LOG_N`]).
pub const LOG_N: u8 = 16;

/// The highest work factor accepted when opening (age's default ones fit).
pub const MAX_LOG_N: u8 = 22;

/// Entries by name; values zeroized on drop.
#[derive(Default, Clone)]
pub struct Contents(pub BTreeMap<String, SecretBytes>);

/// Why a file did not open.
pub enum OpenError {
    WrongPassphrase,
    /// Not an age file, truncated, damaged, or not crossrole's.
    Damaged(String),
    TooCostly(u8),
}

impl Contents {
    pub fn encode(&self) -> SecretBytes {
        let mut out = SecretBytes::new(Vec::with_capacity(64 + 256 * self.0.len()));
        out.extend_from_slice(MAGIC);
        for (name, value) in &self.0 {
            out.extend_from_slice(name.as_bytes());
            out.push(b' ');
            for b in value.iter() {
                out.extend_from_slice(&hex_pair(*b));
            }
            out.push(b'\n');
        }
        out
    }

    pub fn decode(plain: &[u8]) -> Option<Contents> {
        let body = plain.strip_prefix(MAGIC)?;
        let mut map = BTreeMap::new();
        for line in body.split(|b| *b == b'\n') {
            if line.is_empty() {
                continue;
            }
            let space = line.iter().position(|b| *b == b' ')?;
            let name = std::str::from_utf8(&line[..space]).ok()?;
            let hex = &line[space + 1..];
            if hex.len() % 2 != 0 {
                return None;
            }
            let mut value = SecretBytes::new(Vec::with_capacity(hex.len() / 2));
            for pair in hex.chunks(2) {
                value.push(hex_value(pair[0])? << 4 | hex_value(pair[1])?);
            }
            map.insert(name.to_string(), value);
        }
        Some(Contents(map))
    }
}

fn hex_pair(b: u8) -> [u8; 2] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    [DIGITS[(b >> 4) as usize], DIGITS[(b & 15) as usize]]
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

fn secret(passphrase: &str) -> SecretString {
    SecretString::from(passphrase.to_string())
}

/// Seals `contents` for `passphrase`.
pub fn seal(contents: &Contents, passphrase: &str) -> Result<Vec<u8>, String> {
    let plain = contents.encode();
    let mut recipient = age::scrypt::Recipient::new(secret(passphrase));
    recipient.set_work_factor(LOG_N);
    let encryptor =
        age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient))
            .map_err(|e| e.to_string())?;
    let mut out = Vec::with_capacity(plain.len() + 256);
    let mut writer = encryptor.wrap_output(&mut out).map_err(|e| e.to_string())?;
    writer.write_all(&plain).map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())?;
    Ok(out)
}

/// Opens a sealed file with `passphrase`.
pub fn open(sealed: &[u8], passphrase: &str) -> Result<Contents, OpenError> {
    use age::DecryptError as D;
    let damaged = |e: &dyn std::fmt::Display| OpenError::Damaged(e.to_string());
    let decryptor = age::Decryptor::new_buffered(sealed).map_err(|e| damaged(&e))?;
    if !decryptor.is_scrypt() {
        return Err(OpenError::Damaged(
            "it is an age file, but not one sealed with a passphrase".into(),
        ));
    }
    let mut identity = age::scrypt::Identity::new(secret(passphrase));
    identity.set_max_work_factor(MAX_LOG_N);
    let mut reader = match decryptor.decrypt(std::iter::once(&identity as &dyn age::Identity)) {
        Ok(r) => r,
        Err(D::DecryptionFailed | D::KeyDecryptionFailed | D::NoMatchingKeys) => {
            return Err(OpenError::WrongPassphrase)
        }
        Err(D::ExcessiveWork { required, .. }) => return Err(OpenError::TooCostly(required)),
        Err(e) => return Err(damaged(&e)),
    };
    let mut plain = Zeroizing::new(Vec::new());
    reader.read_to_end(&mut plain).map_err(|e| damaged(&e))?;
    Contents::decode(&plain)
        .ok_or_else(|| OpenError::Damaged("it does not hold crossrole's keys".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Contents {
        let mut c = Contents::default();
        c.0.insert(
            "key:green".into(),
            SecretBytes::new(b"{\"a\":1}\n\0\xff".to_vec()),
        );
        c.0.insert("session:00ff".into(), SecretBytes::new(Vec::new()));
        c
    }

    #[test]
    fn encode_decode_round_trip() {
        let c = sample();
        let back = Contents::decode(&c.encode()).unwrap();
        assert_eq!(back.0.len(), 2);
        assert_eq!(&back.0["key:green"][..], b"{\"a\":1}\n\0\xff");
        assert!(back.0["session:00ff"].is_empty());
        assert!(Contents::decode(b"something else").is_none());
        assert!(Contents::decode(b"crossrole-keys 1\nk:x 0g\n").is_none());
    }

    #[test]
    fn seal_open_wrong_and_truncated() {
        let sealed = seal(&sample(), "correct horse").unwrap();
        let plain_text = String::from_utf8_lossy(&sealed);
        assert!(!plain_text.contains("key:green"));
        assert!(plain_text.contains("scrypt ") && plain_text.contains(" 16\n"));
        assert!(open(&sealed, "correct horse").is_ok());
        assert!(matches!(
            open(&sealed, "wrong"),
            Err(OpenError::WrongPassphrase)
        ));
        let cut = &sealed[..sealed.len() - 10];
        assert!(matches!(
            open(cut, "correct horse"),
            Err(OpenError::Damaged(_))
        ));
        assert!(matches!(open(b"", "x"), Err(OpenError::Damaged(_))));
        assert!(matches!(
            open(&sealed[..40], "x"),
            Err(OpenError::Damaged(_))
        ));
    }
}
