//! Idempotency tokens for create calls that take one.

/// An idempotency token (EC2's and EFS's `ClientToken`) derived from
/// `parts` (stack, address, the inputs that make the call distinct): the
/// same for a retried call, so AWS returns the first result instead of
/// making a second one. At most 64 ASCII characters, as EC2 requires.
/// FNV-1a (128 bits): stable across Rust releases, unlike `DefaultHasher`.
pub fn client_token<'a>(parts: impl IntoIterator<Item = &'a str>) -> String {
    const OFFSET: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;
    let mut hash = OFFSET;
    for part in parts {
        // A separator keeps ("ab", "c") and ("a", "bc") apart.
        for b in part.bytes().chain([0]) {
            hash ^= u128::from(b);
            hash = hash.wrapping_mul(PRIME);
        }
    }
    format!("reconcile-{hash:032x}")
}
