//! Criterion benchmarks of `shared`'s hot pure paths; the code is in `benches/`.
//! Run them with `cargo bench -p micro-benches`, or `bench/micro-summary` for medians as JSON.
