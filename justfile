# gan-harness tasks. `just --list` shows them.

set shell := ["bash", "-euo", "pipefail", "-c"]

# Run every not-yet-done configuration of a grid file (release build).
sweep FILE *ARGS:
    cargo harness sweep {{FILE}} {{ARGS}}

# Draw the comparison report of a results directory.
report DIR="results" *ARGS:
    cargo harness report {{DIR}} {{ARGS}}

# The test suite (what CI runs). MNIST comes from $HARNESS_DATA_DIR, else ../shared/data/mnist
# where that exists, else data/mnist (downloaded and verified on first need).
test:
    if [ -z "${HARNESS_DATA_DIR:-}" ] && [ -d ../shared/data/mnist ]; then export HARNESS_DATA_DIR="$PWD/../shared/data/mnist"; fi; cargo test --release --all-targets -- --test-threads 2

# Throughput benchmark of the fixed cases (release build).
bench *ARGS:
    cargo harness bench {{ARGS}}

# The same cases through the PyTorch reference, side by side.
bench-compare *ARGS:
    cargo harness bench --compare {{ARGS}}

# Replay the oracle's case matrix step by step against PyTorch (oracle/run; docs/replay-format.md).
oracle *CASES:
    bash oracle/run {{CASES}}

# Formatting and lints, as CI would want them.
lint:
    cargo fmt --all -- --check
    cargo clippy --all-targets -- -D warnings
