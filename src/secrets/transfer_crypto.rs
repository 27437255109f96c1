//! The Secret Service's transfer encryption,
//! `dh-ietf1024-sha256-aes128-cbc-pkcs7` (Secret Service API, "Transfer of
//! Secrets"): a Diffie-Hellman exchange in the 1024-bit MODP group of
//! RFC 2409 (Oakley group 2, generator 2), HKDF-SHA256 of the shared value
//! (no salt, no info) to a 128-bit AES key, and each secret sent AES-128-CBC
//! with PKCS#7 padding, its IV in the secret's `parameters`.
//!
//! We do this ourselves on the warm path because the secret-service crate
//! raises to a power by plain square-and-multiply with a full division per
//! step: its two exponentiations were half the CPU of a warm lookup (about
//! 4 ms). `BigUint::modpow` uses Montgomery multiplication for an odd
//! modulus, and our private exponent is 256 bits, not 1024: RFC 3526 §8
//! asks for an exponent of twice the strength wanted, and this group's own
//! strength is about 80 bits. The prime is a safe prime, so a short
//! exponent opens no small-subgroup shortcut.

use hkdf::Hkdf;
use num_bigint::BigUint;
use sha2::Sha256;
use zeroize::{Zeroize, Zeroizing};

use super::SecretBytes;

/// The algorithm name sent in `OpenSession`.
pub const ALGORITHM: &str = "dh-ietf1024-sha256-aes128-cbc-pkcs7";

/// RFC 2409 §6.2, the second Oakley group: 2^1024 - 2^960 - 1 + 2^64 * (⌊2^894 π⌋ + 129093).
const PRIME_HEX: &[u8] = b"FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD1\
29024E088A67CC74020BBEA63B139B22514A08798E3404DD\
EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245\
E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED\
EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE65381\
FFFFFFFFFFFFFFFF";
const GENERATOR: u32 = 2;
const PRIME_BYTES: usize = 128;
const PRIVATE_BYTES: usize = 32;

fn prime() -> BigUint {
    BigUint::parse_bytes(PRIME_HEX, 16).expect("the RFC 2409 prime is valid hex")
}

/// Our half of one exchange. No `Debug`: it holds the private exponent,
/// wiped on drop.
pub struct KeyPair {
    private: BigUint,
    public: Vec<u8>,
}

impl Drop for KeyPair {
    fn drop(&mut self) {
        wipe(&mut self.private);
    }
}

/// Overwrites a number's digits with zeros. `BigUint` has no `Zeroize`.
/// Bits are cleared from the bottom up: clearing a lower digit never
/// reallocates, and once the top digit is clear the buffer, all zeros by
/// then, is freed. (The temporaries inside `modpow` are beyond our reach.)
fn wipe(n: &mut BigUint) {
    for bit in 0..n.bits() {
        n.set_bit(bit, false);
    }
}

impl KeyPair {
    pub fn generate() -> Result<Self, String> {
        let mut bytes = Zeroizing::new([0u8; PRIVATE_BYTES]);
        getrandom::fill(bytes.as_mut())
            .map_err(|e| format!("the system random number generator failed: {e}"))?;
        Ok(Self::from_private(&bytes[..]))
    }

    fn from_private(bytes: &[u8]) -> Self {
        // Never 0 or 1 (their public values would be 1 and 2).
        let private = BigUint::from_bytes_be(bytes) | BigUint::from(2u32);
        let public = BigUint::from(GENERATOR).modpow(&private, &prime());
        KeyPair {
            private,
            public: public.to_bytes_be(),
        }
    }

    /// What `OpenSession` sends: our public value, big-endian.
    pub fn public_key(&self) -> &[u8] {
        &self.public
    }

    /// The session key, from the service's public value (its `OpenSession` output).
    pub fn agree(&self, their_public: &[u8]) -> Result<AesKey, &'static str> {
        let p = prime();
        let theirs = BigUint::from_bytes_be(their_public);
        let one = BigUint::from(1u32);
        // 0, 1 and p-1 (and anything not below p) would force a guessable key.
        if theirs <= one || theirs >= &p - &one {
            return Err("the Secret Service sent an invalid public key");
        }
        let mut shared = theirs.modpow(&self.private, &p);
        let mut ikm = Zeroizing::new([0u8; PRIME_BYTES]);
        let mut be = shared.to_bytes_be();
        wipe(&mut shared);
        ikm[PRIME_BYTES - be.len()..].copy_from_slice(&be);
        be.zeroize();
        let mut key = Zeroizing::new([0u8; 16]);
        // HKDF's HMAC states hold the pseudo-random key: wiped on drop
        // (the `zeroize` features of hmac and sha2).
        Hkdf::<Sha256>::new(None, ikm.as_ref())
            .expand(&[], key.as_mut())
            .map_err(|_| "HKDF cannot make a 16-byte key")?;
        Ok(AesKey(key))
    }
}

/// A session's AES-128 key. No `Debug`; zeroized on drop, as are the
/// ciphers' round keys and IVs made from it (the `zeroize` features of aes
/// and cbc). Keys are handed to the ciphers as slices, so no copy of ours
/// is left on the stack.
pub struct AesKey(Zeroizing<[u8; 16]>);

impl AesKey {
    /// Decrypts one secret: `iv` is its `parameters`, `ciphertext` its `value`.
    pub fn decrypt(&self, iv: &[u8], ciphertext: &[u8]) -> Result<SecretBytes, &'static str> {
        use aes::cipher::block_padding::Pkcs7;
        use aes::cipher::{BlockModeDecrypt, KeyIvInit};

        let iv: [u8; 16] = iv
            .try_into()
            .map_err(|_| "the secret's IV is not 16 bytes")?;
        let decryptor = cbc::Decryptor::<aes::Aes128>::new_from_slices(&self.0[..], &iv)
            .map_err(|_| "the session key is not 16 bytes")?;
        let mut buf = SecretBytes::new(ciphertext.to_vec());
        let len = decryptor
            .decrypt_padded::<Pkcs7>(&mut buf)
            .map_err(|_| "the secret did not decrypt (bad padding)")?
            .len();
        buf.truncate(len);
        Ok(buf)
    }

    /// Encrypts one secret under a fresh random IV: `(parameters, value)`.
    pub fn encrypt(&self, plaintext: &[u8]) -> Result<(Vec<u8>, Vec<u8>), &'static str> {
        let mut iv = [0u8; 16];
        getrandom::fill(&mut iv).map_err(|_| "the system random number generator failed")?;
        Ok((iv.to_vec(), self.seal(&iv, plaintext)?))
    }

    fn seal(&self, iv: &[u8; 16], plaintext: &[u8]) -> Result<Vec<u8>, &'static str> {
        use aes::cipher::block_padding::Pkcs7;
        use aes::cipher::{BlockModeEncrypt, KeyIvInit};
        Ok(
            cbc::Encryptor::<aes::Aes128>::new_from_slices(&self.0[..], iv)
                .map_err(|_| "the session key is not 16 bytes")?
                .encrypt_padded_vec::<Pkcs7>(plaintext),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_sides_agree_on_the_key() {
        let client = KeyPair::generate().unwrap();
        // The service's side: a full-size exponent, as gnome-keyring uses.
        let service = KeyPair::from_private(&[0x5a; PRIME_BYTES]);
        let ours = client.agree(service.public_key()).unwrap();
        let theirs = service.agree(client.public_key()).unwrap();
        assert_eq!(*ours.0, *theirs.0);

        let iv = [7u8; 16];
        let sealed = theirs
            .seal(&iv, b"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
            .unwrap();
        assert_ne!(&sealed[..], b"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
        let opened = ours.decrypt(&iv, &sealed).unwrap();
        assert_eq!(&opened[..], b"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");

        // Our own sending side: a fresh IV each time.
        let (iv1, sealed1) = ours.encrypt(b"secret").unwrap();
        let (iv2, sealed2) = ours.encrypt(b"secret").unwrap();
        assert_ne!((&iv1, &sealed1), (&iv2, &sealed2));
        assert_eq!(&theirs.decrypt(&iv1, &sealed1).unwrap()[..], b"secret");
    }

    #[test]
    fn matches_the_textbook_exponentiation() {
        // The same public value as the secret-service crate's square-and-multiply.
        let private = [0x01, 0x02, 0x03, 0xff];
        let pair = KeyPair::from_private(&private);
        let p = prime();
        let mut base = BigUint::from(GENERATOR);
        let mut exp = BigUint::from_bytes_be(&private) | BigUint::from(2u32);
        let mut want = BigUint::from(1u32);
        while exp != BigUint::from(0u32) {
            if exp.bit(0) {
                want = (&want * &base) % &p;
            }
            exp >>= 1;
            base = (&base * &base) % &p;
        }
        assert_eq!(pair.public_key(), &want.to_bytes_be()[..]);
    }

    #[test]
    fn the_key_is_hkdf_of_the_padded_shared_value() {
        // With their public value 2, the shared value is 2^x mod p: our own
        // public value. HKDF-SHA256 of it, left-padded to 128 bytes.
        let pair = KeyPair::from_private(&[0x33; 32]);
        let key = pair.agree(&[2]).unwrap();
        let mut ikm = [0u8; PRIME_BYTES];
        let public = pair.public_key();
        ikm[PRIME_BYTES - public.len()..].copy_from_slice(public);
        let mut want = [0u8; 16];
        Hkdf::<Sha256>::new(None, &ikm)
            .expand(&[], &mut want)
            .unwrap();
        assert_eq!(*key.0, want);
    }

    #[test]
    fn wipe_zeroes_every_digit() {
        let mut n = prime() - BigUint::from(12345u32);
        wipe(&mut n);
        assert_eq!(n, BigUint::from(0u32));
        assert!(n.to_u64_digits().is_empty());
    }

    #[test]
    fn refuses_degenerate_public_values() {
        let pair = KeyPair::generate().unwrap();
        let p = prime();
        for bad in [
            BigUint::from(0u32),
            BigUint::from(1u32),
            &p - BigUint::from(1u32),
            p.clone(),
            &p + BigUint::from(5u32),
        ] {
            assert!(pair.agree(&bad.to_bytes_be()).is_err(), "{bad}");
        }
    }

    #[test]
    fn refuses_a_bad_iv_length_or_padding() {
        use aes::cipher::block_padding::NoPadding;
        use aes::cipher::{BlockModeEncrypt, KeyIvInit};

        let key = KeyPair::generate().unwrap().agree(&[2]).unwrap();
        let sealed = key.seal(&[1; 16], b"secret").unwrap();
        assert_eq!(&key.decrypt(&[1; 16], &sealed).unwrap()[..], b"secret");
        assert!(key.decrypt(&[1; 15], &sealed).is_err());
        assert!(key.decrypt(&[1; 16], &sealed[..15]).is_err());
        // A block whose last byte is 0 is never valid PKCS#7 padding.
        let unpadded = cbc::Encryptor::<aes::Aes128>::new(&(*key.0).into(), &[1; 16].into())
            .encrypt_padded_vec::<NoPadding>(&[0u8; 16]);
        assert!(key.decrypt(&[1; 16], &unpadded).is_err());
    }
}
