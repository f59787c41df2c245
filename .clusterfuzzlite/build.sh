#!/bin/bash -eu
# Builds the cargo-fuzz targets the ClusterFuzzLite way (`cargo fuzz build
# -O`) and copies them to $OUT with seed corpora encoded from corpus/.
# ffi/build.rs sees --cfg fuzzing and instruments the C side with the
# image's clang ($CC): -fsanitize=fuzzer-no-link, plus ASan when the
# sanitizer is address.
cd "$SRC/rmapfuzz"
export RMAPFUZZ_CLANG="${CC:-clang}"

# The seed corpus comes from a plain (uninstrumented) host build.
env -u RUSTFLAGS -u CFLAGS -u CXXFLAGS -u LIB_FUZZING_ENGINE CARGO_TARGET_DIR=/tmp/host-build \
	cargo build --release --bin rmapfuzz
/tmp/host-build/release/rmapfuzz encode corpus -o /tmp/seeds

cd fuzz
cargo fuzz build -O --debug-assertions
for target in diff sweep parse; do
	cp "target/x86_64-unknown-linux-gnu/release/$target" "$OUT/"
done
(cd /tmp/seeds && zip -q "$OUT/diff_seed_corpus.zip" ./*.bin && cp "$OUT/diff_seed_corpus.zip" "$OUT/sweep_seed_corpus.zip")
(cd ../corpus && zip -q "$OUT/parse_seed_corpus.zip" ./*.txt)
