//! Strategies shared by the parser property suites: recorded files with random edits.
//! Each suite compiles this module on its own and uses part of it.
#![allow(dead_code)]

use proptest::prelude::*;
use std::path::Path;

/// A file under tests/fixtures (empty when missing, so a strategy still runs).
pub fn fixture(rel: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(rel),
    )
    .unwrap_or_default()
}

/// The recorded file `rel` with up to 24 bytes replaced, inserted or removed.
pub fn mutated(rel: &str) -> BoxedStrategy<Vec<u8>> {
    mutated_with(rel, any::<u8>().boxed())
}

/// Like [`mutated`], with inserted and replacing bytes drawn from `byte`.
pub fn mutated_with(rel: &str, byte: BoxedStrategy<u8>) -> BoxedStrategy<Vec<u8>> {
    let base = fixture(rel);
    let len = base.len().max(1);
    proptest::collection::vec((0..len, byte, 0u8..3), 0..24)
        .prop_map(move |edits| {
            let mut data = base.clone();
            for (pos, byte, kind) in edits {
                let pos = pos.min(data.len());
                match kind {
                    0 if pos < data.len() => data[pos] = byte,
                    1 => data.insert(pos, byte),
                    _ if pos < data.len() => {
                        data.remove(pos);
                    }
                    _ => {}
                }
            }
            data
        })
        .boxed()
}
