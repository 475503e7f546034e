//! A quick, seeded mutation run of the loader inside the normal test build
//! (the coverage-guided run is `cargo fuzz run loader`, see README): every
//! example and invalid fixture, mutated byte-wise and spliced with tokens,
//! must load or fail with an error — never panic.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const TOKENS: &[&str] = &[
    "${",
    "}",
    "[",
    "]",
    "{",
    "}",
    "\"",
    "'",
    "=",
    "\n",
    ".",
    "[*]",
    "${var.x}",
    "${count.index}",
    "${each.key}",
    "count = 3",
    "for_each = [\"a\"]",
    "enabled = false",
    "[stack]",
    "[modules.m]\nsource = \"m\"",
    "[variables.x]\n",
    "cidrsubnet(",
    "join(",
    "format(",
    "lookup(",
    "\u{e9}",
    "\u{ff}",
    "-9223372036854775808",
    "1e308",
    "[[",
    "]]",
];

fn seeds() -> Vec<Vec<u8>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    let mut dirs: Vec<PathBuf> = vec![root.join("desired"), root.join("tests/fixtures/invalid")];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "toml") {
                files.push(std::fs::read(&p).unwrap());
            }
        }
    }
    files
}

/// xorshift64*: seeded, reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn mutate(rng: &mut Rng, seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut b = seeds[rng.below(seeds.len())].clone();
    for _ in 0..=rng.below(4) {
        let at = rng.below(b.len() + 1);
        match rng.below(5) {
            0 if !b.is_empty() => {
                let end = (at + 1 + rng.below(16)).min(b.len());
                b.drain(at.min(end)..end);
            }
            1 => b
                .splice(at..at, TOKENS[rng.below(TOKENS.len())].bytes())
                .for_each(drop),
            2 if at < b.len() => b[at] = rng.next() as u8,
            3 => {
                // Splice a slice of another seed.
                let other = &seeds[rng.below(seeds.len())];
                let from = rng.below(other.len());
                let to = (from + rng.below(200)).min(other.len());
                b.splice(at..at, other[from..to].iter().copied())
                    .for_each(drop);
            }
            _ => {
                let dup = b[at.min(b.len())..(at + rng.below(64)).min(b.len())].to_vec();
                b.splice(at..at, dup).for_each(drop);
            }
        }
    }
    b
}

#[test]
fn mutated_desired_states_never_panic_the_loader() {
    let seeds = seeds();
    assert!(seeds.len() >= 40);
    let mut rng = Rng(0x005e_ed0f_10ad);
    let none = BTreeMap::new();
    let file = Path::new("/nonexistent/desired/main.toml");
    let (mut ok, mut refused) = (0, 0);
    let n = 20_000;
    for i in 0..n {
        let input = mutate(&mut rng, &seeds);
        let outcome = std::panic::catch_unwind(|| {
            reconcile::config::load_bytes(file, &input, &none, &none).map_err(|e| e.to_string())
        });
        match outcome {
            Ok(Ok(_)) => ok += 1,
            Ok(Err(_)) => refused += 1,
            Err(_) => panic!(
                "input {i} panicked the loader:\n{}",
                String::from_utf8_lossy(&input)
            ),
        }
    }
    eprintln!("{n} mutated inputs: {ok} loaded, {refused} refused, 0 panics");
}
