# gan-harness tasks. `just --list` shows them.

set shell := ["bash", "-euo", "pipefail", "-c"]

# Run every not-yet-done configuration of a grid file (release build).
sweep FILE *ARGS:
    cargo run --release --quiet --bin harness -- sweep {{FILE}} {{ARGS}}

# Draw the comparison report of a results directory.
report DIR="results" *ARGS:
    cargo run --release --quiet --bin harness -- report {{DIR}} {{ARGS}}

# The test suite (CI runs exactly this). MNIST is read from ../shared/data/mnist.
test:
    HARNESS_DATA_DIR="${HARNESS_DATA_DIR:-$PWD/../shared/data/mnist}" cargo test --all-targets -- --test-threads 2

# Throughput benchmark of the fixed cases (release build).
bench *ARGS:
    cargo run --release --quiet --bin harness -- bench {{ARGS}}

# The same cases through the PyTorch reference, side by side.
bench-compare *ARGS:
    cargo run --release --quiet --bin harness -- bench --compare {{ARGS}}

# Replay the oracle's case matrix step by step against PyTorch (oracle/run; docs/replay-format.md).
oracle *CASES:
    bash oracle/run {{CASES}}

# Formatting and lints, as CI would want them.
lint:
    cargo fmt --all -- --check
    cargo clippy --all-targets -- -D warnings
